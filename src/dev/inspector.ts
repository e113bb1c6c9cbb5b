// The Stately inspector, wired here and nowhere else: @statelyai/inspect is ES modules only
// and opens a window, so tests never import this file and the page loads it only on demand.
import type { InspectionEvent } from 'xstate';

export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';
/** How long the reachability check waits before it says the inspector cannot load. */
const REACH_TIMEOUT_MS = 5_000;

export type InspectorHandle = {
  /** Where to send inspection events (BatchSyncService's `inspect`, or a hub's sink). */
  inspect: (event: InspectionEvent) => void;
  /** Disconnects and closes the inspector's pop-up. */
  stop(): void;
};

export type InspectorErrorCode = 'POPUP_BLOCKED' | 'UNREACHABLE';

/** The Stately inspector did not open; the message says why and what to do. */
export class InspectorError extends Error {
  constructor(
    readonly code: InspectorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'InspectorError';
  }
}

// An opaque answer is enough: any answer means the hosted inspector can load; a network error means it cannot.
async function reachable(url: string): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REACH_TIMEOUT_MS);
  try {
    await fetch(url, { mode: 'no-cors', cache: 'no-store', signal: controller.signal });
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes a pop-up, and closes it again while it stays open: one still loading its first page
 * (here, a host that cannot be reached) once ignored the first close() in the npm-shipped Chromium.
 */
function closeSoon(popup: Window, tries = 25): void {
  popup.close();
  if (!popup.closed && tries > 1) setTimeout(() => closeSoon(popup, tries - 1), 200);
}

/**
 * Opens the Stately inspector in a pop-up, or rejects with an InspectorError when the pop-up is
 * blocked or the hosted inspector cannot be reached (no internet): the pop-up is closed then.
 */
export async function startInspector(url: string = STATELY_INSPECTOR_URL): Promise<InspectorHandle> {
  const { createBrowserInspector } = await import('@statelyai/inspect');
  // The pop-up is opened here (the adapter only calls `open`), so stop() can close it.
  let popup: Window | null = null;
  const host = {
    open: (target: string, name: string) => (popup = window.open(target, name)),
    addEventListener: window.addEventListener.bind(window),
    removeEventListener: window.removeEventListener.bind(window),
  } as unknown as Window;
  const inspector = createBrowserInspector({ window: host, url, autoStart: true });
  const stop = () => {
    inspector.stop();
    if (popup) closeSoon(popup);
    popup = null;
  };
  if (!popup) {
    stop();
    throw new InspectorError('POPUP_BLOCKED', 'The browser blocked the Stately inspector’s pop-up: allow pop-ups for this page and tick the box again.');
  }
  if (!(await reachable(url))) {
    stop();
    throw new InspectorError(
      'UNREACHABLE',
      `The Stately inspector could not load: ${new URL(url).host} is not reachable from this browser (no internet?). The Actors panel on this page shows the same events without it.`,
    );
  }
  return { inspect: (event) => inspector.inspect.next?.(event), stop };
}
