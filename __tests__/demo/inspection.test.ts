// The Actors panel's hub: fed by a real actor system's inspection events, it names actors by
// system id (known only after they register), follows their states, notices stopped children,
// and hands a late-attached inspector what it missed.
import { createActor, setup, type InspectionEvent } from 'xstate';
import { createInspectionHub } from '../../src/demo/inspection.ts';

const child = setup({}).createMachine({ id: 'child', initial: 'waiting', states: { waiting: { on: { go: 'done' } }, done: {} } });
const root = setup({ actors: { child } }).createMachine({
  id: 'root',
  initial: 'idle',
  states: {
    idle: {
      invoke: { id: 'named', systemId: 'named', src: 'child' },
      on: { spawn: 'busy' },
    },
    busy: {
      invoke: { id: 'batch', src: 'child' },
      on: { finish: { target: 'online', reenter: true } },
    },
    online: { initial: 'good', states: { good: {} } },
  },
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

test('shows the root and the named actors with their state, and ended ones as stopped', async () => {
  const hub = createInspectionHub(() => 1_000);
  const actor = createActor(root, { inspect: hub.inspect }).start();
  await tick();
  expect(hub.actors().map((a) => [a.name, a.value, a.status])).toEqual([
    ['root', 'idle', 'active'],
    ['named', 'waiting', 'active'],
  ]);
  actor.send({ type: 'spawn' });
  await tick();
  expect(hub.actors().map((a) => [a.name, a.status])).toEqual([
    ['root', 'active'],
    ['batch', 'active'],
    ['named', 'stopped'],
  ]);
  actor.send({ type: 'finish' });
  await tick();
  const [first] = hub.actors();
  expect(first).toMatchObject({ name: 'root', value: 'online.good' });
  expect(first.events.map((e) => e.type).slice(0, 2)).toEqual(['finish', 'spawn']);
  expect(hub.actors().find((a) => a.name === 'batch')?.status).toBe('stopped');
  actor.stop();
});

test('an inspector attached late gets the live actors first, then every event; detached, nothing', async () => {
  const hub = createInspectionHub();
  const actor = createActor(root, { inspect: hub.inspect }).start();
  const seen: InspectionEvent[] = [];
  const detach = hub.attach((e) => seen.push(e));
  expect(seen.filter((e) => e.type === '@xstate.actor').map((e) => (e.actorRef as unknown as { id: string }).id)).toEqual([actor.id, 'named']);
  const replayed = seen.length;
  actor.send({ type: 'spawn' });
  expect(seen.length).toBeGreaterThan(replayed);
  detach();
  const before = seen.length;
  actor.send({ type: 'finish' });
  expect(seen.length).toBe(before);
  actor.stop();
});

test('a new root ends the previous system', async () => {
  const hub = createInspectionHub();
  const a = createActor(root, { inspect: hub.inspect }).start();
  const b = createActor(root, { inspect: hub.inspect }).start();
  await tick();
  const live = hub.actors().filter((x) => x.status === 'active');
  expect(live.map((x) => x.name)).toEqual(['root', 'named']);
  expect(hub.actors().filter((x) => x.status === 'stopped').map((x) => x.name).sort()).toEqual(['named', 'root']);
  a.stop();
  b.stop();
});
