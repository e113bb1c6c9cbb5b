// The time-to-synced chart: vega-lite compiled and rendered to SVG in Node, no browser.
import { writeFile } from 'node:fs/promises';

export type ChartPoint = { quality: string; rttMs: number; path: string; ms: number };

export async function writeTimeChart(points: ChartPoint[], file: string, title: string): Promise<void> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points.map((p) => ({ ...p, seconds: p.ms / 1000 })) },
    facet: { column: { field: 'quality', type: 'nominal', title: 'connection quality (batch config)' } },
    spec: {
      width: 300,
      height: 260,
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'rttMs', type: 'quantitative', title: 'added round trip per request (ms)', scale: { domain: [0, 320] } },
            y: { field: 'seconds', type: 'quantitative', title: 'time until every op is acknowledged (s, log)', scale: { type: 'log' } },
            color: { field: 'path', type: 'nominal', title: 'write path', sort: ['perOp', 'grouped', 'versesSync'] },
          },
        },
        {
          mark: { type: 'text', dy: -9, fontSize: 9 },
          encoding: {
            x: { field: 'rttMs', type: 'quantitative' },
            y: { field: 'seconds', type: 'quantitative', scale: { type: 'log' } },
            text: { field: 'seconds', type: 'quantitative', format: '.3~s' },
            color: { field: 'path', type: 'nominal', legend: null },
          },
        },
      ],
    },
  };
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  await writeFile(file, svg);
}
