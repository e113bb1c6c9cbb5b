// What one simulated user does in a step: a study session on a seeded clock, the same
// for both paths (reviews every few seconds, now and then a new card, one profile edit).
import { seededRandom } from '../src/stack/faultProxy.ts';

export type Action =
  | { at: number; kind: 'add'; ref: string }
  | { at: number; kind: 'review'; card: number; correct: boolean }
  | { at: number; kind: 'profile'; patch: { dailyGoal: number } };

export type SessionShape = {
  /** How long users act (ms); the step then waits for their ops to be acknowledged. */
  durationMs: number;
  /** Users start spread over this long, so N users do not all open at the same instant. */
  rampMs: number;
  /** Pause between two actions of one user: uniform in [min, max] ms. */
  gapMs: [number, number];
  /** Chance an action is a new card rather than a review. */
  addChance: number;
};

export const SESSION: SessionShape = { durationMs: 45_000, rampMs: 5_000, gapMs: [2_000, 6_000], addChance: 0.1 };

/** A verse reference per index; the load run warms the catalogue with all of them. */
export const referenceOf = (i: number) => `John ${1 + Math.floor(i / 60)}:${1 + (i % 60)}`;
export const REFERENCE_COUNT = 1_200;

/** The actions of user `index`, in time order, reproducible from `seed`. */
export function studySession(index: number, shape: SessionShape, seed = 9): Action[] {
  const random = seededRandom(seed * 1_000_003 + index);
  const ref = () => referenceOf(Math.floor(random() * REFERENCE_COUNT));
  const actions: Action[] = [];
  let at = Math.floor(random() * shape.rampMs);
  // Every session opens with a card to study, so reviews always have one.
  actions.push({ at, kind: 'add', ref: ref() });
  let cards = 1;
  const profileAt = shape.rampMs + random() * (shape.durationMs - shape.rampMs);
  let profiled = false;
  for (;;) {
    at += shape.gapMs[0] + Math.floor(random() * (shape.gapMs[1] - shape.gapMs[0]));
    if (at >= shape.durationMs) break;
    if (!profiled && at >= profileAt) {
      profiled = true;
      actions.push({ at, kind: 'profile', patch: { dailyGoal: 5 + Math.floor(random() * 30) } });
      continue;
    }
    if (random() < shape.addChance) {
      actions.push({ at, kind: 'add', ref: ref() });
      cards++;
    } else {
      actions.push({ at, kind: 'review', card: Math.floor(random() * cards), correct: random() < 0.8 });
    }
  }
  return actions;
}
