// Which tab of a browser runs the uploader (DESIGN, decision 9): the Web Lock holder leads, the
// others nudge it over a BroadcastChannel, and a tab the browser freezes steps down at once.
import type { Priority } from '../../machines/types.ts';
import { requestLeadership, type Leadership } from './leadership.ts';
import type { LockManagerLike } from './locks.ts';

/** A follower's word to the leader: ops were written to the shared outbox. */
export type Nudge = { type: 'op.enqueued'; priority: Priority; count: number };

type Lifecycle = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;

export type CoordinatorOptions = {
  /** `navigator.locks` in a browser; an in-memory one (createMemoryLocks) in Node. */
  locks: LockManagerLike;
  /** Lock and channel name. */
  name: string;
  /** Where 'freeze' and 'resume' come from (`document` by default). */
  lifecycle?: Lifecycle;
};

/** What the tab does when it gains or loses the uploader's role. */
export type CoordinatorHooks = {
  /** This tab became the uploader; the lock is held until the promise settles and stop() runs. */
  lead(): Promise<void>;
  /** This tab must stop uploading now, synchronously (it is being frozen). */
  stepDown(): void;
  /** Another tab wrote ops and nudges this one. */
  nudged(nudge: Nudge): void;
};

/** Decides whether this tab uploads; the sync service talks to tabs only through this. */
export type TabCoordinator = {
  /** False for the single-tab coordinator: the tab always uploads. */
  readonly elects: boolean;
  /** Bumped each time this tab steps down, so a lead() still under way can tell it is stale. */
  readonly term: number;
  /** Starts competing for the role (resolves at once), or takes it alone (resolves once leading). */
  start(): Promise<void>;
  /** Tells the uploading tab that ops wait (a no-op alone: the service tells its own actors). */
  nudge(nudge: Nudge): void;
  /** Stops listening, runs `shutdown` (the uploader's last words), then hands the role on. */
  stop(shutdown: () => Promise<void>): Promise<void>;
};

/** A coordinator for one tab alone: it leads from start() to stop(). */
export function soloCoordinator(hooks: Pick<CoordinatorHooks, 'lead'>): TabCoordinator {
  return {
    elects: false,
    term: 0,
    start: () => hooks.lead(),
    nudge: () => undefined,
    stop: (shutdown) => shutdown(),
  };
}

/** A coordinator that leads only while it holds the Web Lock `options.name`. */
export function lockCoordinator(options: CoordinatorOptions, hooks: CoordinatorHooks): TabCoordinator {
  const { locks } = options;
  let running = false;
  let term = 0;
  let leadership: Leadership | undefined;
  let channel: BroadcastChannel | undefined;
  const lifecycle = options.lifecycle ?? (typeof document === 'undefined' ? undefined : document);

  const lead = () => {
    leadership ??= requestLeadership(locks, options.name, () => (running ? hooks.lead() : undefined));
  };
  // A frozen tab runs no timers and sends nothing, but would keep the lock: give it up now (the
  // synchronous part — actors stopped, lock released — runs before the page is frozen). What it
  // had in flight is recovered and re-sent by the next leader; the server's ledger keeps it once.
  const onFreeze = () => {
    if (!running || !leadership) return;
    term++;
    hooks.stepDown();
    const resigning = leadership;
    leadership = undefined;
    void resigning.resign();
  };
  const onResume = () => {
    if (running) lead();
  };

  return {
    elects: true,
    get term() {
      return term;
    },
    async start() {
      if (running) return;
      running = true;
      channel = new BroadcastChannel(options.name);
      channel.onmessage = (event: MessageEvent<Nudge>) => {
        if (event.data?.type === 'op.enqueued') hooks.nudged(event.data);
      };
      lifecycle?.addEventListener('freeze', onFreeze);
      lifecycle?.addEventListener('resume', onResume);
      lead();
    },
    nudge(nudge) {
      channel?.postMessage(nudge);
    },
    async stop(shutdown) {
      running = false;
      lifecycle?.removeEventListener('freeze', onFreeze);
      lifecycle?.removeEventListener('resume', onResume);
      await shutdown();
      // Only now may another tab take over: this one sends nothing more.
      await leadership?.resign();
      leadership = undefined;
      channel?.close();
      channel = undefined;
    },
  };
}
