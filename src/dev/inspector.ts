// The Stately inspector, wired here and nowhere else: @statelyai/inspect is ES modules only
// and opens a window, so tests never import this file and the page loads it only on demand.
import type { InspectionEvent } from 'xstate';

export type InspectorHandle = {
  /** BatchSyncService's `inspect` option. */
  inspect: (event: InspectionEvent) => void;
  stop(): void;
};

/** Opens the Stately inspector in a new window (allow pop-ups for this page). */
export async function startInspector(): Promise<InspectorHandle> {
  const { createBrowserInspector } = await import('@statelyai/inspect');
  const inspector = createBrowserInspector({ autoStart: true });
  return {
    inspect: (event) => inspector.inspect.next?.(event),
    stop: () => inspector.stop(),
  };
}
