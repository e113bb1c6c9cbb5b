// Each machine's statechart as Mermaid `stateDiagram-v2` text, read from the machine
// definition itself (its state nodes and transitions), so the pictures in docs/ and the README
// are regenerated, never drawn by hand. `npm run diagrams` writes them; a test compares.
import type { AnyStateMachine } from 'xstate';
import { batchMachine } from '../../machines/batch.machine.ts';
import { networkQualityMachine } from '../../machines/networkQuality.machine.ts';
import { queueMachine } from '../../machines/queue.machine.ts';
import { retryBackoffMachine } from '../../machines/retryBackoff.machine.ts';
import { syncMachine } from '../../machines/sync.machine.ts';

type Node = AnyStateMachine['root'];
type Transition = { eventType: string; target?: readonly Node[]; guard?: unknown; reenter?: boolean };

/** The machines pictured, in the order the docs show them, with the file each is defined in. */
export const PICTURED_MACHINES: ReadonlyArray<{ name: string; file: string; machine: AnyStateMachine }> = [
  { name: 'sync', file: 'machines/sync.machine.ts', machine: syncMachine },
  { name: 'networkQuality', file: 'machines/networkQuality.machine.ts', machine: networkQualityMachine },
  { name: 'queue', file: 'machines/queue.machine.ts', machine: queueMachine },
  { name: 'batch', file: 'machines/batch.machine.ts', machine: batchMachine },
  { name: 'retryBackoff', file: 'machines/retryBackoff.machine.ts', machine: retryBackoffMachine },
];

/** A Mermaid id for a state node: its path, since nested states may share a key. */
const idOf = (node: Node): string => (node.path.length ? node.path.join('_').replace(/[^A-Za-z0-9_]/g, '_') : 'root');

function guardName(guard: unknown): string | undefined {
  if (!guard) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'guard';
  const g = guard as { type?: string; params?: unknown };
  if (g.type === 'xstate.not' || g.type === 'xstate.and' || g.type === 'xstate.or') return g.type.slice(7);
  if (!g.type) return 'guard';
  return g.params && typeof g.params === 'object' ? `${g.type} ${Object.values(g.params as object).join(',')}` : g.type;
}

/** The event as a person reads it: `after batchWindow`, `done batch`, `error uploadBatch`, `always`. */
function eventLabel(eventType: string, node: Node): string {
  if (eventType === '') return 'always';
  const afterPrefix = 'xstate.after.';
  if (eventType.startsWith(afterPrefix) && eventType.endsWith(`.${node.id}`)) return `after ${eventType.slice(afterPrefix.length, -node.id.length - 1)}`;
  const done = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (done) {
    const invoked = node.invoke.find((inv: { id: string }) => inv.id === done[2]) as { src?: unknown } | undefined;
    const src = typeof invoked?.src === 'string' ? invoked.src : done[2];
    return `${done[1]} ${src}`;
  }
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  return eventType;
}

// Mermaid splits a label at ':' and treats some characters as syntax.
const clean = (text: string): string => text.replace(/[:;#{}]/g, ' ').replace(/\s+/g, ' ').trim();

function transitionsOf(node: Node): Transition[] {
  const out: Transition[] = [];
  for (const list of node.transitions.values()) out.push(...(list as Transition[]));
  out.push(...((node.always ?? []) as Transition[]));
  return out;
}

/** A region of a parallel state: its own transitions are drawn from a box inside it (Mermaid cannot start an edge at a region). */
const isRegion = (node: Node): boolean => node.parent?.type === 'parallel';
const regionBox = (node: Node): string => `${idOf(node)}_any`;

function renderStates(node: Node, lines: string[], indent: string): void {
  const children = Object.values(node.states) as Node[];
  if (isRegion(node) && transitionsOf(node).length > 0) lines.push(`${indent}state "(any ${node.key} state)" as ${regionBox(node)}`);
  children.forEach((child, i) => {
    // Regions of a parallel state are separated by `--`.
    if (node.type === 'parallel' && i > 0) lines.push(`${indent}--`);
    const id = idOf(child);
    if (Object.keys(child.states).length > 0) {
      lines.push(`${indent}state "${child.key}" as ${id} {`);
      renderStates(child, lines, `${indent}  `);
      lines.push(`${indent}}`);
    } else {
      lines.push(`${indent}state "${child.key}" as ${id}`);
    }
  });
  if (node.type === 'compound' && node.initial?.target?.length) lines.push(`${indent}[*] --> ${idOf(node.initial.target[0] as Node)}`);
  for (const child of children) if (child.type === 'final') lines.push(`${indent}${idOf(child)} --> [*]`);
}

/** Mermaid id of the box that stands for "in any state": the machine's own (root-level) transitions start there. */
const ANY_STATE = 'any_state';

/** Every transition of `node` and its descendants; a targetless one is drawn as a loop on its state. */
function renderEdges(node: Node, edges: string[]): void {
  const from = !node.path.length ? ANY_STATE : isRegion(node) ? regionBox(node) : idOf(node);
  for (const t of transitionsOf(node)) {
    const event = eventLabel(t.eventType, node);
    const guard = guardName(t.guard);
    const label = clean(guard ? `${event} [${guard}]` : event);
    const targets = t.target?.length ? (t.target as Node[]).map((target) => (target.path.length ? idOf(target) : ANY_STATE)) : [from];
    for (const to of targets) edges.push(`${from} --> ${to} : ${label}`);
  }
  for (const child of Object.values(node.states) as Node[]) renderEdges(child, edges);
}

/** One machine as Mermaid stateDiagram-v2 text. Events the machine takes in any state start at a box of their own. */
export function statechartOf(machine: AnyStateMachine): string {
  const lines: string[] = ['stateDiagram-v2'];
  // Mermaid draws regions (`--`) only inside a composite state: a parallel machine is one box around them.
  if (machine.root.type === 'parallel') {
    lines.push(`  state "${machine.id}" as ${idOf(machine.root)} {`);
    renderStates(machine.root, lines, '    ');
    lines.push('  }');
  } else {
    renderStates(machine.root, lines, '  ');
  }
  const edges: string[] = [];
  renderEdges(machine.root, edges);
  if (edges.some((edge) => edge.startsWith(`${ANY_STATE} `))) lines.push(`  state "${machine.id} (any state)" as ${ANY_STATE}`);
  return [...lines, ...edges.map((edge) => `  ${edge}`)].join('\n') + '\n';
}

const fence = (text: string) => `\`\`\`mermaid\n${text}\`\`\`\n`;

const allStates = (node: Node): Node[] => (Object.values(node.states) as Node[]).flatMap((child) => [child, ...allStates(child)]);

/** Every state of a machine (not the root) with its `description`, in document order: what the inspector shows. */
export function stateDescriptions(machine: AnyStateMachine): Array<{ state: string; description: string | undefined }> {
  return allStates(machine.root).map((node) => ({ state: node.path.join('.'), description: node.description }));
}

/** The states as a list a person reads beside the picture. */
const describedStates = (machine: AnyStateMachine): string =>
  stateDescriptions(machine)
    .map(({ state, description }) => `- \`${state}\`: ${description ?? '(no description)'}`)
    .join('\n') + '\n';

export const STATECHARTS_FILE = 'docs/statecharts.md';
export const README_BEGIN = '<!-- statecharts:begin (generated by `npm run diagrams` from machines/) -->';
export const README_END = '<!-- statecharts:end -->';

/** docs/statecharts.md: every machine's picture. */
export function statechartsDocument(): string {
  const parts = [
    '# Statecharts\n',
    'Generated from the machine definitions by `npm run diagrams`; a test fails when a picture no longer matches its machine.',
    'A box named "(any state)" holds the events a machine takes whatever state it is in; a loop is an event handled without a change of state.\n',
  ];
  for (const { name, file, machine } of PICTURED_MACHINES) {
    parts.push(`## ${name}\n\nFrom \`${file}\`.\n\n${fence(statechartOf(machine))}\n${describedStates(machine)}`);
  }
  return parts.join('\n');
}

/** The README's copy: one folded picture per machine, between the markers. */
export function readmeStatecharts(): string {
  const parts = [README_BEGIN];
  for (const { name, file, machine } of PICTURED_MACHINES) {
    parts.push(`<details><summary><code>${name}</code> (${file})</summary>\n\n${fence(statechartOf(machine))}\n</details>`);
  }
  parts.push(README_END);
  return parts.join('\n');
}

/** `readme` with its generated region replaced by `section`; throws when the markers are missing. */
export function spliceReadme(readme: string, section: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no statechart markers (${README_BEGIN} … ${README_END}): put them where the pictures go.`);
  return readme.slice(0, begin) + section + readme.slice(end + README_END.length);
}
