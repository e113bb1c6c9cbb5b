// The one `inspect` callback the sync service gets for its whole life: it keeps the in-page
// Actors panel up to date and hands every event to whichever inspector is attached (the Stately
// inspector while its box is ticked), so attaching or detaching one never restarts the service.
import type { AnyActor, InspectionEvent } from 'xstate';

/** How many recent events each actor keeps for the panel. */
export const EVENTS_KEPT = 6;
/** Ended actors (finished batches, a backoff that ran out) kept below the live ones. */
export const ENDED_KEPT = 4;

export type ActorEventView = { type: string; at: number };

export type ActorView = {
  sessionId: string;
  /** The name the actor system knows it by: its system id, else its id ('batch', 'retry-backoff'), 'sync' for the root. */
  name: string;
  /** The state value as text ('idle', 'online.good', '{"a":"b"}'); '–' for actors without states. */
  value: string;
  status: 'active' | 'done' | 'error' | 'stopped';
  /** Epoch ms of the last change of `value` or `status`. */
  changedAt: number;
  /** Newest first. */
  events: ActorEventView[];
};

type Entry = ActorView & { ref: AnyActor; rootId: string; parentId: string | undefined; order: number; registration: InspectionEvent; last?: InspectionEvent };

// Only the actors the README names; promise actors (claim, upload, probe) come and go too fast to read.
// (Tracked all the same: the system id is not yet known when an actor registers.)
const shown = (ref: AnyActor) => !ref._parent || ref.systemId !== undefined || ref.id === 'retry-backoff' || ref.id === 'batch';

function nameOf(ref: AnyActor): string {
  if (!ref._parent) return ref.systemId ?? (ref.logic as { id?: string }).id ?? ref.id;
  return ref.systemId ?? ref.id;
}

function valueText(snapshot: unknown): string {
  const value = (snapshot as { value?: unknown } | undefined)?.value;
  if (value === undefined) return '–';
  // {"online":"good"} reads best as online.good; parallel regions stay JSON.
  const path: string[] = [];
  let node: unknown = value;
  while (node && typeof node === 'object' && Object.keys(node).length === 1) {
    const [key] = Object.keys(node);
    path.push(key);
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node === 'string') return [...path, node].join('.');
  if (node && typeof node === 'object' && Object.keys(node).length === 0) return path.join('.');
  return JSON.stringify(value);
}

export type InspectionHub = {
  /** BatchSyncService's `inspect` option. */
  inspect(event: InspectionEvent): void;
  /** Sends `sink` the registration and last snapshot of every live actor, then every new event. */
  attach(sink: (event: InspectionEvent) => void): () => void;
  /** The actors as the panel shows them: live ones first (in order of creation), then recently ended. */
  actors(): ActorView[];
  /** Calls `listener` (at most once a frame) after actors() changed. */
  subscribe(listener: () => void): () => void;
};

/** A hub with no actors yet; `now` is the panel's clock. */
export function createInspectionHub(now: () => number = Date.now): InspectionHub {
  const sinks = new Set<(event: InspectionEvent) => void>();
  const entries = new Map<string, Entry>();
  const listeners = new Set<() => void>();
  let order = 0;
  let view: ActorView[] = [];
  let scheduled = false;

  const publish = () => {
    if (scheduled) return;
    scheduled = true;
    const flush = () => {
      scheduled = false;
      // The system id is set only after the actor's registration event: decide what to show now.
      for (const entry of entries.values()) {
        entry.name = nameOf(entry.ref);
        if (entry.status !== 'active' && !shown(entry.ref)) entries.delete(entry.sessionId);
      }
      const all = [...entries.values()].filter((e) => shown(e.ref)).sort((a, b) => a.order - b.order);
      const live = all.filter((e) => e.status === 'active');
      const ended = all.filter((e) => e.status !== 'active');
      // Forget ended actors beyond the few the panel keeps.
      for (const old of ended.slice(0, Math.max(0, ended.length - ENDED_KEPT))) entries.delete(old.sessionId);
      view = [...live, ...ended.slice(-ENDED_KEPT).reverse()].map(({ sessionId, name, value, status, changedAt, events }) => ({ sessionId, name, value, status, changedAt, events }));
      for (const listener of [...listeners]) listener();
    };
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(flush);
    else queueMicrotask(flush);
  };

  const end = (entry: Entry, status: ActorView['status']) => {
    if (entry.status !== 'active') return;
    entry.status = status;
    entry.changedAt = now();
  };

  const record = (event: InspectionEvent) => {
    const ref = event.actorRef as AnyActor;
    if (event.type === '@xstate.actor') {
      if (!ref._parent) {
        // A new root (sign-in, a tab taking over): the previous system is gone. Its own children
        // register before it does, so only other systems' actors end here.
        for (const entry of entries.values()) if (entry.status === 'active' && entry.rootId !== event.rootId) end(entry, 'stopped');
      }
      entries.set(ref.sessionId, {
        sessionId: ref.sessionId,
        name: nameOf(ref),
        // Its first snapshot follows (reading it now throws: the actor is still being created).
        value: '–',
        status: 'active',
        changedAt: now(),
        events: [],
        ref,
        rootId: event.rootId,
        parentId: ref._parent?.sessionId,
        order: order++,
        registration: event,
      });
      return true;
    }
    const entry = entries.get(ref.sessionId);
    if (event.type === '@xstate.event') {
      if (!entry) return false;
      entry.events = [{ type: event.event.type, at: now() }, ...entry.events].slice(0, EVENTS_KEPT);
      return true;
    }
    if (event.type !== '@xstate.snapshot') return false;
    let changed = false;
    // A parent's snapshot lists its children: one that is no longer there was stopped.
    const children = (event.snapshot as { children?: Record<string, unknown> }).children;
    if (children) {
      for (const child of entries.values()) {
        if (child.parentId === ref.sessionId && child.status === 'active' && !(child.ref.id in children)) {
          end(child, 'stopped');
          changed = true;
        }
      }
    }
    if (!entry) return changed;
    entry.last = event;
    const value = valueText(event.snapshot);
    const status = (event.snapshot as { status?: ActorView['status'] }).status ?? 'active';
    if (value !== entry.value) {
      entry.value = value;
      entry.changedAt = now();
    }
    if (status !== 'active') end(entry, status);
    return true;
  };

  return {
    inspect(event) {
      if (record(event)) publish();
      for (const sink of [...sinks]) {
        try {
          sink(event);
        } catch (error) {
          console.warn('verses-sync demo: an inspector failed on an event', error);
        }
      }
    },
    attach(sink) {
      for (const entry of [...entries.values()].filter((e) => e.status === 'active').sort((a, b) => a.order - b.order)) {
        sink(entry.registration);
        if (entry.last) sink(entry.last);
      }
      sinks.add(sink);
      return () => sinks.delete(sink);
    },
    actors: () => view,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
