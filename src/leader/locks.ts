// The slice of the Web Locks API leadership needs, and an in-memory implementation
// of it for Node and tests (several "tabs" in one process share one instance).

/** What `navigator.locks` offers that leadership uses: an exclusive lock held while `callback` runs. */
export type LockManagerLike = {
  request<T>(name: string, options: { signal?: AbortSignal }, callback: (lock: { name: string } | null) => Promise<T> | T): Promise<T>;
};

type Waiter = { grant: () => void };

/**
 * Exclusive locks in memory, granted first come first served, like the browser's
 * Web Locks: a lock is held until its callback's promise settles; an aborted
 * request that has not been granted yet rejects with an AbortError.
 */
export function createMemoryLocks(): LockManagerLike {
  const held = new Set<string>();
  const queues = new Map<string, Waiter[]>();

  const grantNext = (name: string) => {
    const next = queues.get(name)?.shift();
    if (next) next.grant();
    else held.delete(name);
  };

  return {
    request(name, options, callback) {
      return new Promise((resolve, reject) => {
        const { signal } = options;
        if (signal?.aborted) {
          reject(abortError());
          return;
        }
        const waiter: Waiter = {
          grant: () => {
            signal?.removeEventListener('abort', onAbort);
            held.add(name);
            Promise.resolve()
              .then(() => callback({ name }))
              .then(resolve, reject)
              .finally(() => grantNext(name));
          },
        };
        const onAbort = () => {
          const queue = queues.get(name) ?? [];
          const i = queue.indexOf(waiter);
          if (i >= 0) {
            queue.splice(i, 1);
            reject(abortError());
          }
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        if (held.has(name)) queues.set(name, [...(queues.get(name) ?? []), waiter]);
        else waiter.grant();
      });
    },
  };
}

function abortError(): Error {
  const error = new Error('the lock request was aborted');
  error.name = 'AbortError';
  return error;
}

/** The browser's `navigator.locks`, when there is one. */
export function browserLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks;
}
