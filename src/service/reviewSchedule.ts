// The local review schedule: a doubling interval on correct answers, a short
// retry on a miss. Deliberately simple; the server keeps only the counts.
import type { VerseCard } from '../db/types.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const MISS_RETRY_MS = 10 * 60 * 1000;
const MAX_INTERVAL_DAYS = 180;

export type CardSchedule = Pick<VerseCard, 'reviewCount' | 'correctCount' | 'nextReviewAt'>;

/** The card's counts and next review time after one answer given at `now`. */
export function scheduleNextReview(card: Pick<VerseCard, 'reviewCount' | 'correctCount'>, correct: boolean, now: Date): CardSchedule {
  const reviewCount = card.reviewCount + 1;
  const correctCount = card.correctCount + (correct ? 1 : 0);
  const delayMs = correct ? Math.min(2 ** (correctCount - 1), MAX_INTERVAL_DAYS) * DAY_MS : MISS_RETRY_MS;
  return { reviewCount, correctCount, nextReviewAt: new Date(now.getTime() + delayMs).toISOString() };
}
