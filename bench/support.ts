/**
 * What every benchmark shares: one Temporal dev server for the run (the tests' flags), one prebuilt workflow
 * bundle, fresh databases on the benchmark's PostgreSQL, generated data sets kept under .data/bench, and an
 * in-process worker per measurement. Databases are made as the tests make their template
 * (test/setup/postgres.ts), and a worker process is waited for as the tests wait for it: until it says it polls.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import { createActivities } from '../src/activities';
import { generate, type DayTally } from '../src/datagen/generate';
import { DEV_SERVER_ARGS, temporalCli } from '../src/local/stack';
import { createPool } from '../src/warehouse/pool';
import { recreateDatabase } from '../test/setup/postgres';
import { Background } from '../test/support/processes';

export const ROOT = path.resolve(__dirname, '..');
export const DATA = path.join(ROOT, '.data', 'bench');
export const RESULTS = path.join(ROOT, 'bench', 'results');
const ADMIN = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** One benchmark's figures, under the key they have in bench/results/results.json. */
export type Figures = Record<string, unknown>;

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
export const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** A database created afresh with the schema, and a pool on it. */
export async function freshDb(name: string, poolSize = 12): Promise<{ url: string; pool: Pool }> {
  const url = await recreateDatabase(ADMIN, name);
  return { url, pool: createPool({ url, max: poolSize }) };
}

/** The data sets: a 1M-event day (a, c, e's baseline) and 30 days of 8,000 events a day (b, d). */
export const ONE_MILLION = { days: 1, eventsPerDay: 1_000_000, songs: 2000, seed: 7 };
export const DAY = ['2018-11-01T00:00Z', '2018-11-02T00:00Z'] as const;
export const THIRTY_DAYS = { days: 30, eventsPerDay: 8000, songs: 15000, seed: 11 };

/** A generated data set under .data/bench, generated once and kept for later runs. */
export async function dataset(name: string, opts: { days: number; eventsPerDay: number; songs: number; seed: number }) {
  const dir = path.join(DATA, name);
  if (!existsSync(path.join(dir, '.done'))) {
    console.log(`generating ${name} (${opts.days} day(s) x ${opts.eventsPerDay} events, ${opts.songs} songs) ...`);
    const summary = await generate({ out: dir, start: '2018-11-01', ...opts });
    // The generator's own tally of what a load must produce, kept for the benchmarks that check counts (f).
    await writeFile(path.join(dir, '.done'), JSON.stringify({ tally: summary.tally }));
  }
  return dir;
}

/** The generator's per-day tally of a data set made by dataset() (undefined for one made before it kept it). */
export async function tallyOf(dir: string): Promise<DayTally[] | undefined> {
  const text = await readFile(path.join(dir, '.done'), 'utf8');
  return text ? (JSON.parse(text) as { tally: DayTally[] }).tally : undefined;
}

export interface WorkerOptions {
  concurrency?: number;
  /** Workflow tasks at once (default max(10, concurrency)). */
  workflowTasks?: number;
  /** Workflows kept in the worker's cache (the SDK's default when not given). */
  cachedWorkflows?: number;
  interceptors?: ActivityInterceptorsFactory[];
}

export interface Bench {
  env: TestWorkflowEnvironment;
  machine: string;
  /** Runs `fn` while an in-process worker with the real activities serves a task queue of its own. */
  withWorker<T>(pool: Pool, source: string, fn: (taskQueue: string) => Promise<T>, opts?: WorkerOptions): Promise<T>;
}

export async function startBench(): Promise<Bench> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli() },
      ip: '127.0.0.1',
      log: { format: 'pretty', level: 'error' },
      extraArgs: [
        ...(process.env.BENCH_NO_EAGER ? [] : DEV_SERVER_ARGS),
        ...(process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? []),
      ],
    },
  });
  const speed = await hostSpeed();
  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, node ${process.version}; host speed: js ${speed.jsMs} ms, pg ${speed.pgMs} ms`;
  console.log(`machine: ${machine}`);
  // One workflow bundle for every worker of the run, prebuilt as the Dockerfile's is, in a child process:
  // webpack is not loaded here, so the bench's heap (and its garbage collections, which delay the worker's
  // polls) stays close to a production worker's.
  const bundlePath = path.join(DATA, 'bench-workflow-bundle.js');
  await mkdir(DATA, { recursive: true });
  execFileSync(
    process.execPath,
    [...process.execArgv, path.join(ROOT, 'src/cli/build-workflow-bundle.ts'), bundlePath],
    { stdio: 'ignore' },
  );
  let queue = 0;
  return {
    env,
    machine,
    async withWorker(pool, source, fn, opts = {}) {
      const concurrency = opts.concurrency ?? 20;
      const taskQueue = `bench-${process.pid}-${queue++}`;
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: { codePath: bundlePath },
        activities: createActivities({ pool, defaultSource: source }),
        maxConcurrentActivityTaskExecutions: concurrency,
        maxConcurrentWorkflowTaskExecutions: opts.workflowTasks ?? Math.max(10, concurrency),
        ...(opts.cachedWorkflows ? { maxCachedWorkflows: opts.cachedWorkflows } : {}),
        maxEagerActivityReservationsPerWorkflowTask: 5,
        ...(opts.interceptors ? { interceptors: { activity: opts.interceptors } } : {}),
      });
      return worker.runUntil(fn(taskQueue));
    },
  };
}

const SAMPLE_EVENT =
  '{"artist":"Des\'ree","auth":"Logged In","firstName":"Kaylee","gender":"F","itemInSession":1,"lastName":"Summers","length":246.30812,"level":"free","location":"Phoenix-Mesa-Scottsdale, AZ","method":"PUT","page":"NextSong","registration":1540344794796.0,"sessionId":139,"song":"You Gotta Be","status":200,"ts":1541106106796,"userAgent":"Mozilla/5.0","userId":"8"}';

/**
 * How fast this machine is right now, by two fixed workloads (the best of three): `js`, parsing and re-encoding
 * an event line 200,000 times in this process; `pg`, PostgreSQL hashing 1,000,000 texts in one backend. The
 * benchmarks' targets in ms are absolute, and this project's CI machine kind has run the same code 1.5-3x
 * slower on one day than another: these two figures, printed with every run, say which kind of day it was.
 */
export async function hostSpeed(): Promise<{ jsMs: number; pgMs: number }> {
  const best = async (fn: () => unknown) => {
    let ms = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await fn();
      ms = Math.min(ms, performance.now() - t);
    }
    return Math.round(ms);
  };
  const jsMs = await best(() => {
    let n = 0;
    for (let i = 0; i < 200_000; i++) n += JSON.stringify(JSON.parse(SAMPLE_EVENT)).length;
    return n;
  });
  const pool = createPool({ url: ADMIN, max: 1 });
  try {
    const pgMs = await best(() => pool.query('SELECT sum(length(md5(i::text))) FROM generate_series(1, 1000000) AS i'));
    return { jsMs, pgMs };
  } finally {
    await pool.end();
  }
}

/** A worker process (`node dist/src/worker.js` or another command), returned once it polls its task queue. */
export async function startWorkerProcess(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Background> {
  const worker = new Background(command, args, { ...env, LOG_LEVEL: 'INFO' });
  try {
    await worker.waitFor(/worker polling task queue/, 120_000);
  } catch (err) {
    await worker.stop('SIGKILL');
    throw err;
  }
  return worker;
}
