// Samples the server side during a step: Postgres connections of the stack's database
// (pg_stat_activity), CPU of the function process and of those Postgres backends
// (/proc/<pid>/stat), of this process (clients and gateway), and of the whole machine.
import { readdirSync, readFileSync } from 'node:fs';
import type postgres from 'postgres';

const TICKS_PER_SEC = 100; // USER_HZ on Linux

/** utime + stime of a process in clock ticks, or undefined when it is gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** The children of `parent` whose command is `comm` (e.g. the Deno process startStack spawned). */
export function childPids(parent: number, comm: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && name === comm) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export type ServerSample = {
  /** Connections to the stack's database, ours for sampling excluded. */
  pgConnectionsMax: number;
  pgActiveMax: number;
  pgActiveMean: number;
  /** Active or idle in a transaction (held by a batch between its statements). */
  pgInUseMax: number;
  pgInUseMean: number;
  /** CPU as % of one core over the step. */
  functionCpuPct: number;
  postgresCpuPct: number;
  loadgenCpuPct: number;
  /** The whole machine's busy %, all cores (others' work included). */
  machineBusyPct: number;
};

export type Monitor = { stop(): Promise<ServerSample> };

/** Starts sampling every `everyMs`; stop() returns the step's figures. */
export function startMonitor(sql: postgres.Sql, functionPid: number | undefined, everyMs = 250): Monitor {
  const started = performance.now();
  const fnStart = functionPid ? cpuTicks(functionPid) ?? 0 : 0;
  let fnLast = fnStart;
  const machineStart = machineTicks();
  const selfStart = process.cpuUsage();
  const backends = new Map<number, number>(); // pid -> ticks at first sight (0 if born during the step)
  const backendLast = new Map<number, number>();
  let first = true;
  let samples = 0;
  let activeSum = 0;
  let inUseSum = 0;
  let inUseMax = 0;
  let connectionsMax = 0;
  let activeMax = 0;
  let busy = false;

  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      const rows = await sql<{ pid: number; state: string | null }[]>`
        select pid, state from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
      samples++;
      const active = rows.filter((r) => r.state === 'active').length;
      activeSum += active;
      const inUse = rows.filter((r) => r.state === 'active' || r.state?.startsWith('idle in transaction')).length;
      inUseSum += inUse;
      inUseMax = Math.max(inUseMax, inUse);
      connectionsMax = Math.max(connectionsMax, rows.length);
      activeMax = Math.max(activeMax, active);
      for (const { pid } of rows) {
        const ticks = cpuTicks(pid);
        if (ticks === undefined) continue;
        if (!backends.has(pid)) backends.set(pid, first ? ticks : 0);
        backendLast.set(pid, ticks);
      }
      first = false;
      if (functionPid) fnLast = cpuTicks(functionPid) ?? fnLast;
    } catch {
      // a sample lost under load is just a sample lost
    } finally {
      busy = false;
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), everyMs);

  return {
    async stop() {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 10));
      await sample();
      const seconds = (performance.now() - started) / 1000;
      let pgTicks = 0;
      for (const [pid, from] of backends) pgTicks += (backendLast.get(pid) ?? from) - from;
      const machine = machineTicks();
      const self = process.cpuUsage(selfStart);
      const pct = (ticks: number) => (100 * ticks) / TICKS_PER_SEC / seconds;
      return {
        pgConnectionsMax: connectionsMax,
        pgActiveMax: activeMax,
        pgActiveMean: samples ? activeSum / samples : 0,
        pgInUseMax: inUseMax,
        pgInUseMean: samples ? inUseSum / samples : 0,
        functionCpuPct: pct(fnLast - fnStart),
        postgresCpuPct: pct(pgTicks),
        loadgenCpuPct: (100 * (self.user + self.system)) / 1e6 / seconds,
        machineBusyPct: (100 * (machine.busy - machineStart.busy)) / Math.max(1, machine.total - machineStart.total),
      };
    },
  };
}
