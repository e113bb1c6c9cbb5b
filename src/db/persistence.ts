// Asks the browser to keep this origin's storage under storage pressure. Without it the
// database — cards and the outbox of changes not yet synced — is "best-effort" storage,
// which a browser may clear on its own when the disk runs low.
export type StoragePersistence = 'persisted' | 'best-effort' | 'unsupported';

type StorageManagerLike = { persisted?: () => Promise<boolean>; persist?: () => Promise<boolean> };

/**
 * Requests persistent storage (`navigator.storage.persist()`) unless it is granted already.
 * 'best-effort' when the browser declined (it may still grant it later, e.g. once the app is
 * installed); 'unsupported' where there is no StorageManager (Node, old browsers). Never throws.
 */
export async function requestPersistentStorage(
  storage: StorageManagerLike | undefined = (globalThis as { navigator?: { storage?: StorageManagerLike } }).navigator?.storage,
): Promise<StoragePersistence> {
  if (!storage?.persist) return 'unsupported';
  try {
    if (storage.persisted && (await storage.persisted())) return 'persisted';
    return (await storage.persist()) ? 'persisted' : 'best-effort';
  } catch {
    return 'best-effort';
  }
}
