/**
 * Where a benchmark's time goes on this machine: CPU time of the Temporal dev server, of this process (the
 * in-process worker, and the client that starts the runs), of the PostgreSQL backends serving the benchmark's
 * database and of every other process, sampled from /proc once a second. Shares are of the machine's capacity
 * over the wall time (cores x seconds); idle is what nobody used. Linux only: elsewhere it reports nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const TICKS_PER_S = 100; // USER_HZ, 100 on every Linux this runs on
const SAMPLE_MS = 1000;

export interface CpuShares {
  wallS: number;
  cores: number;
  /** CPU seconds. */
  seconds: { server: number; worker: number; warehouse: number; otherPostgres: number; rest: number; idle: number };
  /** Shares of cores x wall time, in %. */
  percent: { server: number; worker: number; warehouse: number; otherPostgres: number; rest: number; idle: number };
}

interface Proc {
  ppid: number;
  comm: string;
  ticks: number;
}

/** utime + stime of a process (all its threads), its parent and name; undefined when it is gone. */
function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    return { ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** Machine-wide busy and idle ticks (all cores), from /proc/stat. */
function machineTicks(): { busy: number; idle: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, idle };
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

/**
 * Samples until stop(). `database` names the benchmark's database: a backend's process title carries it
 * (`postgres: 15/main: postgres bench_f 127.0.0.1(...)`), which is how its backends are told from others'.
 */
export function sampleCpu(database: string): { stop(): CpuShares | undefined } {
  if (!existsSync('/proc/stat')) return { stop: () => undefined };
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const kind = new Map<number, 'server' | 'worker' | 'warehouse' | 'otherPostgres' | 'rest'>();
  const classify = (pid: number, p: Proc): 'server' | 'worker' | 'warehouse' | 'otherPostgres' | 'rest' => {
    if (pid === process.pid) return 'worker';
    if (p.ppid === process.pid && /temporal/i.test(p.comm)) return 'server';
    if (p.comm === 'postgres') return cmdline(pid).includes(` ${database} `) ? 'warehouse' : 'otherPostgres';
    return 'rest';
  };
  const sample = (initial: boolean) => {
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid)) continue;
      const p = readProc(pid);
      if (!p) continue;
      if (!kind.has(pid)) {
        kind.set(pid, classify(pid, p));
        // a process born during the run counts from zero; one that was there, from the first sample
        first.set(pid, initial ? p.ticks : 0);
      }
      last.set(pid, p.ticks);
    }
  };
  const t0 = performance.now();
  const m0 = machineTicks();
  sample(true);
  const timer = setInterval(() => sample(false), SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      sample(false);
      const m1 = machineTicks();
      const wallS = (performance.now() - t0) / 1000;
      const cores = os.cpus().length;
      const s = { server: 0, worker: 0, warehouse: 0, otherPostgres: 0, rest: 0, idle: 0 };
      for (const [pid, k] of kind) s[k] += ((last.get(pid) ?? 0) - (first.get(pid) ?? 0)) / TICKS_PER_S;
      // "rest" is the machine's busy time not seen in a process above (other sessions, the kernel, exited ones)
      const busy = (m1.busy - m0.busy) / TICKS_PER_S;
      s.rest = Math.max(0, busy - s.server - s.worker - s.warehouse - s.otherPostgres);
      s.idle = (m1.idle - m0.idle) / TICKS_PER_S;
      const capacity = cores * wallS;
      const r1 = (x: number) => Math.round(x * 10) / 10;
      return {
        wallS: r1(wallS),
        cores,
        seconds: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, r1(v)])) as CpuShares['seconds'],
        percent: Object.fromEntries(
          Object.entries(s).map(([k, v]) => [k, r1((100 * v) / capacity)]),
        ) as CpuShares['percent'],
      };
    },
  };
}
