// A child process hosting part of a load step's users (see startHost in step.ts): one Node
// event loop runs out of time long before the server does, so large steps spread their users.
// Messages: setup (create the users) → ready; run (at a shared start) → done; close → closed.
import 'fake-indexeddb/auto';
import { closeUsers, prepareUsers, runUsers, type Part, type PartPlan } from './step.ts';

type Command = { type: 'setup'; plan: PartPlan } | { type: 'run'; startAt: number } | { type: 'close' };

let plan: PartPlan | undefined;
let part: Part | undefined;

function send(message: object): void {
  process.send?.(message);
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} before setup`);
  return value;
}

process.on('message', (command: Command) => {
  void (async () => {
    try {
      if (command.type === 'setup') {
        plan = command.plan;
        part = await prepareUsers(plan);
        send({ type: 'ready', setupSeconds: part.setupSeconds });
      } else if (command.type === 'run') {
        const result = await runUsers(must(part, 'run'), must(plan, 'run'), command.startAt, (line) => send({ type: 'log', line }));
        send({ type: 'done', result });
      } else {
        if (part) await closeUsers(part);
        send({ type: 'closed' });
        process.disconnect?.();
      }
    } catch (error) {
      send({ type: 'error', message: (error as Error)?.stack ?? String(error) });
      process.exitCode = 1;
      process.disconnect?.();
    }
  })();
});
// The parent gone, nothing here has a reason to run on.
process.on('disconnect', () => setTimeout(() => process.exit(), 1_000).unref());
