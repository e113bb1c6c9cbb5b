export { SyncProvider, useSyncContext, type SyncContextValue, type SyncProviderProps } from './SyncProvider.tsx';
export { useSyncStatus, lastSyncedAt, type SyncStatusView } from './useSyncStatus.ts';
export { useSyncEvents, type SyncEvents } from './useSyncEvents.ts';
export { SyncStatus, OFFLINE_MESSAGE, FOLLOWER_MESSAGE, pendingText, describeOperation, waitingText, refusalText, failureText, retryText } from './SyncStatus.tsx';
