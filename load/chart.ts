// The load chart: vega-lite compiled and rendered to SVG in Node (as bench/chart.ts does).
import { writeFile } from 'node:fs/promises';
import type { StepResult } from './step.ts';

export async function writeLoadChart(steps: StepResult[], file: string, title: string): Promise<void> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const bound = steps[0]?.boundMs ?? 0;
  // A step whose p95 never came (ops left unacknowledged) is drawn at the top of the scale.
  const ceiling = Math.max(bound * 4, ...steps.map((s) => s.latencyMs.p95 ?? 0));
  const values = steps.flatMap((s) => [
    { users: s.users, path: s.path, panel: 'p95 enqueue → ack (s, log)', value: (s.latencyMs.p95 ?? ceiling) / 1000, carried: s.carried ? 'carried' : 'not carried' },
    { users: s.users, path: s.path, panel: 'server requests / s', value: s.requestsPerSec, carried: s.carried ? 'carried' : 'not carried' },
  ]);
  const layer = (panel: string, log: boolean, extra: object[] = []) => ({
    width: 320,
    height: 240,
    title: panel,
    layer: [
      {
        data: { values: values.filter((v) => v.panel === panel) },
        mark: { type: 'line', point: { size: 60, filled: true } },
        encoding: {
          x: { field: 'users', type: 'quantitative', title: 'concurrent users', scale: { type: 'log' } },
          y: { field: 'value', type: 'quantitative', title: panel, scale: log ? { type: 'log' } : {} },
          color: { field: 'path', type: 'nominal', title: 'path', sort: ['perOp', 'versesSync'] },
          shape: { field: 'carried', type: 'nominal', title: 'step' },
        },
      },
      ...extra,
    ],
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    hconcat: [
      layer('p95 enqueue → ack (s, log)', true, [
        { data: { values: [{ bound: bound / 1000 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { field: 'bound', type: 'quantitative' } } },
        { data: { values: [{ bound: bound / 1000, label: `bound ${bound / 1000} s` }] }, mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'gray' }, encoding: { y: { field: 'bound', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } } },
      ]),
      layer('server requests / s', false),
    ],
  };
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  await writeFile(file, svg);
}
