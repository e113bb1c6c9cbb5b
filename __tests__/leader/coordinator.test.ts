// The tab coordinator alone, without machines: who leads, how a follower's nudge reaches the
// leader, stepping down on freeze, and handing on only after the leader's last words.
import { randomUUID } from 'node:crypto';
import { lockCoordinator, soloCoordinator, type CoordinatorHooks, type Nudge } from '../../src/leader/coordinator.ts';
import { createMemoryLocks } from '../../src/leader/index.ts';
import { eventually } from '../helpers/client.ts';

type Tab = { hooks: CoordinatorHooks; log: string[]; nudges: Nudge[]; leading: boolean };

function tab(name: string): Tab {
  const t: Tab = {
    log: [],
    nudges: [],
    leading: false,
    hooks: {
      lead: async () => {
        t.leading = true;
        t.log.push(`${name} leads`);
      },
      stepDown: () => {
        t.leading = false;
        t.log.push(`${name} steps down`);
      },
      nudged: (nudge) => void t.nudges.push(nudge),
    },
  };
  return t;
}

test('alone, a tab leads from start() on and nudges nobody', async () => {
  const a = tab('a');
  const solo = soloCoordinator(a.hooks);
  expect(solo.elects).toBe(false);
  await solo.start();
  expect(a.leading).toBe(true);
  solo.nudge({ type: 'op.enqueued', priority: 'normal', count: 1 });
  let shutdown = false;
  await solo.stop(async () => void (shutdown = true));
  expect(shutdown).toBe(true);
});

test('the lock holder leads; a follower nudges it; freezing hands over, resuming queues again', async () => {
  const locks = createMemoryLocks();
  const name = `coordinator-${randomUUID()}`;
  const lifecycleA = new EventTarget();
  const a = tab('a');
  const b = tab('b');
  const first = lockCoordinator({ locks, name, lifecycle: lifecycleA }, a.hooks);
  const second = lockCoordinator({ locks, name, lifecycle: new EventTarget() }, b.hooks);
  await first.start();
  await second.start();
  await eventually(() => expect(a.leading).toBe(true));
  expect(b.leading).toBe(false);

  second.nudge({ type: 'op.enqueued', priority: 'high', count: 2 });
  await eventually(() => expect(a.nudges).toEqual([{ type: 'op.enqueued', priority: 'high', count: 2 }]));

  const term = first.term;
  lifecycleA.dispatchEvent(new Event('freeze'));
  // Stepping down is synchronous: the frozen page sends nothing more.
  expect(a.leading).toBe(false);
  expect(first.term).toBe(term + 1);
  await eventually(() => expect(b.leading).toBe(true));

  lifecycleA.dispatchEvent(new Event('resume'));
  await second.stop(async () => b.hooks.stepDown());
  await eventually(() => expect(a.leading).toBe(true));
  expect(a.log).toEqual(['a leads', 'a steps down', 'a leads']);
  await first.stop(async () => a.hooks.stepDown());
});

test('stop() hands the lock on only once the shutdown has finished', async () => {
  const locks = createMemoryLocks();
  const name = `coordinator-${randomUUID()}`;
  const a = tab('a');
  const b = tab('b');
  const first = lockCoordinator({ locks, name, lifecycle: new EventTarget() }, a.hooks);
  const second = lockCoordinator({ locks, name, lifecycle: new EventTarget() }, b.hooks);
  await first.start();
  await eventually(() => expect(a.leading).toBe(true));
  await second.start();
  let finish!: () => void;
  const stopping = first.stop(() => new Promise<void>((resolve) => (finish = resolve)));
  await new Promise((r) => setTimeout(r, 50));
  expect(b.leading).toBe(false);
  finish();
  await stopping;
  await eventually(() => expect(b.leading).toBe(true));
  // A stopped coordinator hears no more nudges and no lifecycle events.
  second.nudge({ type: 'op.enqueued', priority: 'normal', count: 1 });
  await new Promise((r) => setTimeout(r, 50));
  expect(a.nudges).toEqual([]);
  await second.stop(async () => undefined);
});
