// The page's lifecycle as actor logic: hidden, frozen or closing means "send what waits now, with
// fetch keepalive" (a hidden page may be frozen or discarded without another event); visible again
// means normal batching. Sent to the root sync actor, which hands them to the queue.
import { fromCallback } from 'xstate';

type Target = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;
export type PageEventSources = {
  document: Target & { visibilityState?: string };
  window: Target;
};

export type PageEvent = { type: 'page.hidden' } | { type: 'page.visible' };

/** Actor logic that listens to `sources` (the browser's document and window by default). */
export function browserPageEvents(sources?: PageEventSources) {
  return fromCallback(({ sendBack }) => {
    const src = sources ?? (typeof document === 'undefined' || typeof window === 'undefined' ? undefined : { document, window });
    if (!src) return undefined;
    const send = (event: PageEvent) => sendBack(event as never);
    const visibility = () => send({ type: src.document.visibilityState === 'hidden' ? 'page.hidden' : 'page.visible' });
    const hidden = () => send({ type: 'page.hidden' });
    // A page restored from the back/forward cache shows again without a visibility change.
    const shown = () => send({ type: 'page.visible' });
    src.document.addEventListener('visibilitychange', visibility);
    src.document.addEventListener('freeze', hidden);
    src.window.addEventListener('pagehide', hidden);
    src.window.addEventListener('pageshow', shown);
    if (src.document.visibilityState === 'hidden') hidden();
    return () => {
      src.document.removeEventListener('visibilitychange', visibility);
      src.document.removeEventListener('freeze', hidden);
      src.window.removeEventListener('pagehide', hidden);
      src.window.removeEventListener('pageshow', shown);
    };
  });
}
