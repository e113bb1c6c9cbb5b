// What the three write paths are asked to do: the same steps, in the same order.

export type Step =
  /** A bulk import: many cards written locally at once. */
  | { kind: 'addMany'; refs: string[] }
  | { kind: 'add'; ref: string }
  | { kind: 'review'; card: number; correct: boolean }
  | { kind: 'profile'; patch: { displayName?: string; dailyGoal?: number } }
  | { kind: 'alias'; card: number; alias: string }
  | { kind: 'delete'; card: number };

/** A verse reference per index, the same in every run (the catalogue is warmed with them). */
export const referenceOf = (i: number) => `Psalm ${1 + Math.floor(i / 150)}:${1 + (i % 150)}`;

export function importWorkload(count: number): Step[] {
  return [{ kind: 'addMany', refs: Array.from({ length: count }, (_, i) => referenceOf(i)) }];
}

/** 10 adds, 3 aliases, 60 reviews, 2 profile updates, 1 delete: 76 ops, back to back. */
export function sessionWorkload(): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < 10; i++) steps.push({ kind: 'add', ref: referenceOf(2000 + i) });
  for (let i = 0; i < 3; i++) steps.push({ kind: 'alias', card: i, alias: `alias ${i}` });
  for (let r = 0; r < 60; r++) {
    steps.push({ kind: 'review', card: r % 10, correct: r % 3 !== 0 });
    if (r === 19) steps.push({ kind: 'profile', patch: { dailyGoal: 20 } });
    if (r === 39) steps.push({ kind: 'profile', patch: { displayName: 'Bench reader' } });
  }
  steps.push({ kind: 'delete', card: 9 });
  return steps;
}

/** How many operations a workload produces. */
export const opCount = (steps: Step[]) => steps.reduce((n, s) => n + (s.kind === 'addMany' ? s.refs.length : 1), 0);

/** Every reference a run may use, so the shared catalogue is warm before timing starts. */
export const allReferences = () => Array.from({ length: 2010 }, (_, i) => referenceOf(i));
