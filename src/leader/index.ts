export { createMemoryLocks, browserLocks, type LockManagerLike } from './locks.ts';
export { requestLeadership, type Leadership } from './leadership.ts';
