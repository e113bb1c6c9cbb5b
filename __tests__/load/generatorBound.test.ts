// When a step that was not carried is put down to the load generator rather than the server.
import type { ServerSample } from '../../load/monitor.ts';
import { isGeneratorBound } from '../../load/step.ts';

const server = (fn: number, pg: number, loadgen = 60): ServerSample =>
  ({ functionCpuPct: fn, postgresCpuPct: pg, loadgenCpuPct: loadgen, machineBusyPct: 70, pgConnectionsMax: 8, pgInUseMax: 4, pgInUseMean: 0.5 }) as ServerSample;

const step = (overrides: Partial<Parameters<typeof isGeneratorBound>[0]> = {}) => ({
  carried: false,
  boundMs: 3_000,
  generatorLagP99Ms: 60,
  generatorBusiestCpuPct: 66,
  requestMs: { p50: 8, p95: 40 },
  server: server(10, 14),
  ...overrides,
});

describe('isGeneratorBound', () => {
  test('a carried step never is', () => {
    expect(isGeneratorBound(step({ carried: true, generatorLagP99Ms: 500 }))).toBe(false);
  });

  test('the server answering within a tenth of the bound while mostly idle puts the time on the clients', () => {
    expect(isGeneratorBound(step())).toBe(true);
  });

  test('slow answers from the server leave the step to the server', () => {
    expect(isGeneratorBound(step({ requestMs: { p50: 400, p95: 1_200 } }))).toBe(false);
  });

  test('a busy server is the limit, whatever the generator did', () => {
    expect(isGeneratorBound(step({ server: server(30, 40), generatorLagP99Ms: 400 }))).toBe(false);
  });

  test('a saturated generator process counts, and older figures without its busiest process use the sum', () => {
    expect(isGeneratorBound(step({ requestMs: { p50: 400, p95: 1_200 }, generatorBusiestCpuPct: 95 }))).toBe(true);
    expect(isGeneratorBound(step({ requestMs: undefined, generatorBusiestCpuPct: undefined, server: server(10, 14, 112) }))).toBe(true);
    expect(isGeneratorBound(step({ requestMs: undefined, generatorBusiestCpuPct: undefined, server: server(10, 14, 50) }))).toBe(false);
  });
});
