// Load shedding: at most `maxConcurrent` batches reach the database at once and at most
// `maxWaiting` wait for a turn; past that a request is refused at once (429 + Retry-After)
// so clients back off with jitter instead of piling connections onto Postgres.

export type Admission = {
  /** Resolves with a release function once admitted, or null when the request must be shed. */
  enter(): Promise<(() => void) | null>;
  readonly active: number;
  readonly waiting: number;
};

export function createAdmission(maxConcurrent: number, maxWaiting: number): Admission {
  if (!(maxConcurrent >= 1)) throw new Error('maxConcurrent must be at least 1');
  let active = 0;
  const queue: Array<() => void> = [];
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else active--;
  };
  return {
    async enter() {
      if (active < maxConcurrent) {
        active++;
        return release;
      }
      if (queue.length >= maxWaiting) return null;
      // The releasing request hands its slot straight to the next in line.
      await new Promise<void>((resolve) => queue.push(resolve));
      return release;
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
  };
}
