// The page reads references with the parser the function uses, so "jn 3:16" and "John 3:16"
// are one verse here as they are on the server.
import { canonicalName, parseReference } from '../../supabase/functions/_shared/reference.ts';

/** One spelling per verse ("jn 3:16" and "John 3:16" are the same card); unknown input as typed. */
export function referenceKey(reference: string): string {
  const parsed = parseReference(reference);
  return parsed ? canonicalName(parsed.start, parsed.end, parsed.wholeChapters) : reference.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** Where a reference falls in the Bible (its first verse id); unknown references last. */
export function bibleOrder(reference: string): number {
  return parseReference(reference)?.start ?? Number.MAX_SAFE_INTEGER;
}
