// Counts in words: "1 verse card", "2 verse cards".

/** "1 change", "3 changes", "1,000 changes". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}
