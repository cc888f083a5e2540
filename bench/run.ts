/**
 * Benchmarks (not tests): each measurement is printed with a baseline taken in the same run, on the same
 * PostgreSQL, and written to bench/results/. Usage: `npm run bench -- [a] [b] [c] [d] [e]` (default a b c d;
 * e, the 10-million-event day, writes 4.4 GB and takes minutes). BENCH_PG_URL picks the server
 * (default postgres://postgres@127.0.0.1:5432/postgres); data is generated under .data/bench once.
 * Knobs for b: BENCH_B_RUNS (default 60; half as many spaced runs), BENCH_B_DUMP=1 (print every run's
 * workflow task waits and every overhead),
 * BENCH_NO_EAGER=1 (dev server without eager activity execution, to compare). BENCH_SERVER_ARGS adds dev-server
 * flags, e.g. `--metrics-port 9990` or `--dynamic-config-value history.transferProcessorMaxPollRPS=20` (the
 * server's default, to compare).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Client as PgClient } from 'pg';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import { createActivities } from '../src/activities';
import { planBackfill, runBackfill } from '../src/backfill';
import { generate } from '../src/datagen/generate';
import { intervalKey, makeInterval } from '../src/interval';
import { wholeLines } from '../src/source';
import { parseEventLine } from '../src/source/records';
import { TABLES, DEFAULT_LOAD_MODES, type SparkifyEtlResult } from '../src/types';
import { migrate } from '../src/warehouse/migrate';
import { createPool } from '../src/warehouse/pool';
import { DEV_SERVER_ARGS } from '../src/local/stack';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.join(ROOT, '.data', 'bench');
const RESULTS = path.join(ROOT, 'bench', 'results');
const ADMIN = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const results: Record<string, unknown> = {};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function admin<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
  const c = new PgClient({ connectionString: ADMIN });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function freshDb(name: string) {
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  const pool = createPool({ url: url.toString(), max: 12 });
  await migrate(pool);
  return { url: url.toString(), pool };
}

async function dataset(name: string, opts: { days: number; eventsPerDay: number; songs: number; seed: number }) {
  const dir = path.join(DATA, name);
  if (!existsSync(path.join(dir, '.done'))) {
    console.log(`generating ${name} (${opts.days} day(s) x ${opts.eventsPerDay} events, ${opts.songs} songs) ...`);
    await generate({ out: dir, start: '2018-11-01', ...opts });
    await writeFile(path.join(dir, '.done'), '');
  }
  return dir;
}

/** The activities in the workflow's order, called directly: the same statements with no Temporal. */
async function direct(pool: ReturnType<typeof createPool>, source: string, start: string, end: string) {
  const acts = createActivities({ pool, defaultSource: source });
  const interval = makeInterval(start, end);
  const runKey = intervalKey(interval);
  const t0 = performance.now();
  const steps: Record<string, number> = {};
  let t = performance.now();
  await acts.stageEvents({ runKey, interval, source: '', maxErrors: 0, onMissingFile: 'warn' });
  steps.stageEvents = performance.now() - t;
  t = performance.now();
  await acts.stageSongs({ runKey, source: '', maxErrors: 0 });
  steps.stageSongs = performance.now() - t;
  for (const table of TABLES) {
    t = performance.now();
    await acts.loadTable({ runKey, interval, table, mode: DEFAULT_LOAD_MODES[table] });
    steps[`load_${table}`] = performance.now() - t;
  }
  t = performance.now();
  await acts.runChecks({ runKey, interval, builtin: true, checks: [] });
  steps.checks = performance.now() - t;
  await acts.dropRunStaging({ runKey });
  return { ms: performance.now() - t0, steps };
}

/** When each activity (local ones included) ran, by workflow id, in epoch ms: for b's overhead. */
const activitySpans = new Map<string, [number, number][]>();
const now = () => performance.timeOrigin + performance.now();
const timeActivities: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const start = now();
      try {
        return await next(input);
      } finally {
        const id = ctx.info.workflowExecution?.workflowId ?? '';
        activitySpans.set(id, [...(activitySpans.get(id) ?? []), [start, now()]]);
      }
    },
  },
});

async function main() {
  const which = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ['a', 'b', 'c', 'd']);
  await mkdir(RESULTS, { recursive: true });
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const temporal = execFileSync('bash', [path.join(ROOT, 'scripts/provision-temporal.sh')], {
    encoding: 'utf8',
  }).trim();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporal },
      ip: '127.0.0.1',
      log: { format: 'pretty', level: 'error' },
      extraArgs: [
        ...(process.env.BENCH_NO_EAGER ? [] : DEV_SERVER_ARGS),
        ...(process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? []),
      ],
    },
  });
  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`;
  results.machine = machine;
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
  const workflowBundle = { codePath: bundlePath };
  let queue = 0;
  async function withWorker<T>(
    pool: ReturnType<typeof createPool>,
    source: string,
    fn: (taskQueue: string) => Promise<T>,
    concurrency = 20,
  ) {
    const taskQueue = `bench-${process.pid}-${queue++}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle,
      activities: createActivities({ pool, defaultSource: source }),
      maxConcurrentActivityTaskExecutions: concurrency,
      maxConcurrentWorkflowTaskExecutions: Math.max(10, concurrency),
      maxEagerActivityReservationsPerWorkflowTask: 5,
      interceptors: { activity: [timeActivities] },
    });
    return worker.runUntil(fn(taskQueue));
  }

  try {
    if (which.has('c') || which.has('a')) {
      const big = await dataset('1m', { days: 1, eventsPerDay: 1_000_000, songs: 2000, seed: 7 });
      const file = path.join(big, 'log_data/2018/11/2018-11-01-events.json');
      const day = ['2018-11-01T00:00Z', '2018-11-02T00:00Z'] as const;

      if (which.has('c')) {
        // c. staging ingest vs psql \copy of the same rows as CSV into the same (UNLOGGED) table
        const csv = path.join(big, 'events.csv');
        if (!existsSync(csv)) {
          const out = createWriteStream(csv);
          for await (const piece of wholeLines(createReadStream(file))) {
            let chunk = '';
            for (const l of piece
              .toString('utf8')
              .split('\n')
              .filter((x) => x !== '')) {
              chunk +=
                parseEventLine(l)
                  .values.map((v) =>
                    v === null ? '' : typeof v === 'number' ? String(v) : `"${v.replace(/"/g, '""')}"`,
                  )
                  .join(',') + '\n';
            }
            if (!out.write(chunk)) await once(out, 'drain');
          }
          out.end();
          await once(out, 'finish');
        }
        const db = await freshDb('bench_c');
        const ours: number[] = [];
        const psql: number[] = [];
        const acts = createActivities({ pool: db.pool, defaultSource: big });
        for (let i = 0; i < 5; i++) {
          await db.pool.query('DROP TABLE IF EXISTS bcopy; CREATE UNLOGGED TABLE bcopy (LIKE staging_events)');
          let t = performance.now();
          execFileSync('psql', [db.url, '-q', '-c', `\\copy bcopy FROM '${csv}' CSV`]);
          psql.push(performance.now() - t);
          t = performance.now();
          const interval = makeInterval(...day);
          const r = await acts.stageEvents({
            runKey: intervalKey(interval),
            interval,
            source: '',
            maxErrors: 0,
            onMissingFile: 'fail',
          });
          ours.push(performance.now() - t);
          if (r.rowsStaged !== 1_000_000) throw new Error(`staged ${r.rowsStaged}`);
        }
        const oursRate = 1_000_000 / (median(ours) / 1000);
        const psqlRate = 1_000_000 / (median(psql) / 1000);
        results.c_staging = {
          rows: 1_000_000,
          oursMs: round(median(ours), 0),
          psqlCopyMs: round(median(psql), 0),
          oursRowsPerS: round(oursRate, 0),
          psqlRowsPerS: round(psqlRate, 0),
          ratio: round(oursRate / psqlRate),
          target: '>= 0.8',
        };
        console.log('c. staging ingest', results.c_staging);
        await db.pool.end();
      }

      if (which.has('a')) {
        // a. the 1M-event interval end to end through Temporal vs the same statements called directly, in order
        const viaTemporal: number[] = [];
        const viaDirect: number[] = [];
        let slowest: [string, number][] = [];
        let directSteps: Record<string, number> = {};
        // The worker is started (and its workflow bundle built) before the clock starts, as in production,
        // where one long-running worker serves every run. The order alternates, so neither side always
        // runs on a warmer cache.
        for (let i = 0; i < 3; i++) {
          for (const side of i % 2 === 0 ? ['temporal', 'direct'] : ['direct', 'temporal']) {
            if (side === 'temporal') {
              const d1 = await freshDb('bench_a1');
              const res = (await withWorker(d1.pool, big, async (taskQueue) => {
                const t = performance.now();
                const r = await env.client.workflow.execute('SparkifyEtl', {
                  taskQueue,
                  workflowId: `bench-a-${Date.now()}`,
                  args: [{ start: day[0], end: day[1] }],
                });
                viaTemporal.push(performance.now() - t);
                return r;
              })) as SparkifyEtlResult;
              slowest = Object.entries(res.durationsMs).sort((x, y) => y[1] - x[1]);
              await d1.pool.end();
            } else {
              const d2 = await freshDb('bench_a2');
              const dr = await direct(d2.pool, big, day[0], day[1]);
              viaDirect.push(dr.ms);
              directSteps = dr.steps;
              await d2.pool.end();
            }
          }
        }
        results.a_end_to_end_1m = {
          events: 1_000_000,
          temporalMs: round(median(viaTemporal), 0),
          directMs: round(median(viaDirect), 0),
          ratio: round(median(viaTemporal) / median(viaDirect)),
          target: '<= 1.10',
          stepsMs: Object.fromEntries(slowest),
          directStepsMs: Object.fromEntries(Object.entries(directSteps).map(([k, v]) => [k, round(v, 0)])),
          slowestStep: slowest[0]?.[0],
        };
        console.log('a. end to end', results.a_end_to_end_1m);
      }
    }

    if (which.has('b') || which.has('d')) {
      const sample = await dataset('sample30', { days: 30, eventsPerDay: 8000, songs: 15000, seed: 11 });

      if (which.has('b')) {
        // b. orchestration overhead per run: workflow wall time (server history) minus the time inside activities,
        // local ones included (timed in the worker by an interceptor)
        // Back to back (as in a backfill), then 1.5 s apart (as scheduled hourly runs are, and then some).
        const measure = async (label: string, runs: number, pauseMs: number, firstHour: number) => {
          const db = await freshDb('bench_b');
          const overhead: number[] = [];
          const wall: number[] = [];
          const steps: Record<string, number[]> = {};
          const ids: [number, string][] = [];
          await withWorker(db.pool, sample, async (taskQueue) => {
            await env.client.workflow.execute('SparkifyEtl', {
              taskQueue,
              workflowId: `bench-b-warm-${Date.now()}`,
              args: [{ start: '2018-11-01T00:00Z', end: '2018-11-01T01:00Z' }],
            });
            for (let h = firstHour; h < firstHour + runs; h++) {
              if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
              const start = new Date(Date.UTC(2018, 10, 2) + h * 3_600_000).toISOString();
              const end = new Date(Date.parse(start) + 3_600_000).toISOString();
              const workflowId = `bench-b-${Date.now()}-${h}`;
              const r = (await env.client.workflow.execute('SparkifyEtl', {
                taskQueue,
                workflowId,
                args: [{ start, end }],
              })) as SparkifyEtlResult;
              for (const [k, v] of Object.entries(r.durationsMs)) (steps[k] ??= []).push(v);
              ids.push([h, workflowId]);
            }
          });
          await db.pool.end();
          // Histories are read after the runs: decoding them is the bench's work, not the worker's, and
          // would otherwise load the garbage collector of the process the worker shares.
          for (const [h, workflowId] of ids) {
            // wall time from the server's history; time inside activities (local ones included) from the worker
            const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
            const ev = history.events ?? [];
            const ms = (e: (typeof ev)[number]) =>
              Number(e.eventTime!.seconds) * 1000 + (e.eventTime!.nanos ?? 0) / 1e6;
            const first = ms(ev[0]!);
            const last = ms(ev[ev.length - 1]!);
            const spans = (activitySpans.get(workflowId) ?? []).sort((x, y) => x[0] - y[0]);
            let inside = 0;
            let curS = -1;
            let curE = -1;
            for (const [s, e] of spans) {
              if (s > curE) {
                if (curE > curS) inside += curE - curS;
                curS = s;
                curE = e;
              } else curE = Math.max(curE, e);
            }
            if (curE > curS) inside += curE - curS;
            if (process.env.BENCH_B_DUMP) {
              // how long each workflow task waited in the server before the worker got it
              const waits: number[] = [];
              let scheduled = first;
              for (const e of ev) {
                if (e.workflowTaskScheduledEventAttributes) scheduled = ms(e);
                if (e.workflowTaskStartedEventAttributes) waits.push(Math.round(ms(e) - scheduled));
              }
              console.log(`${label}: workflow task waits`, h, JSON.stringify(waits));
            }
            wall.push(Math.round(last - first));
            overhead.push(Math.round(last - first - inside));
          }
          if (process.env.BENCH_B_DUMP) console.log(`${label}: overheads`, JSON.stringify(overhead));
          return {
            runs: overhead.length,
            overheadMedianMs: median(overhead),
            overheadP95Ms: pct(overhead, 0.95),
            wallMedianMs: median(wall),
            stepMedianMs: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, median(v)])),
          };
        };
        const runs = Number(process.env.BENCH_B_RUNS || 60);
        const backToBack = await measure('back to back', runs, 0, 1);
        const spaced = await measure('1.5 s apart', Math.ceil(runs / 2), 1500, 1);
        results.b_orchestration_overhead = {
          ...backToBack,
          eventsPerHour: Math.round(8000 / 24),
          target: 'median < 100 ms',
          spaced: {
            pauseMs: 1500,
            runs: spaced.runs,
            overheadMedianMs: spaced.overheadMedianMs,
            overheadP95Ms: spaced.overheadP95Ms,
            wallMedianMs: spaced.wallMedianMs,
          },
        };
        console.log('b. orchestration overhead', results.b_orchestration_overhead);
      }

      if (which.has('d')) {
        // d. a 30-day hourly backfill (720 runs) at a few concurrencies; baseline: the same 720 hours run directly, serially
        const out: Record<string, number> = {};
        for (const concurrency of [8, 16]) {
          const db = await freshDb('bench_d');
          const t = performance.now();
          await withWorker(
            db.pool,
            sample,
            async (taskQueue) => {
              const plan = await planBackfill(env.client, makeInterval('2018-11-01T00:00Z', '2018-12-01T00:00Z'), {
                reprocess: 'all',
                idPrefix: `bench-d-${Date.now()}`,
              });
              const o = await runBackfill(env.client, plan, { taskQueue, concurrency });
              const failed = o.filter((x) => x.status !== 'completed');
              if (failed.length) throw new Error(`${failed.length} hours failed: ${failed[0]?.error}`);
            },
            concurrency * 4,
          );
          out[`concurrency_${concurrency}_ms`] = round(performance.now() - t, 0);
          await db.pool.end();
        }
        const best = Math.min(...Object.values(out));
        results.d_backfill_30_days = {
          runs: 720,
          eventsPerDay: 8000,
          songs: 15000,
          ...out,
          bestMs: best,
          target: '< 120000 ms',
        };
        console.log('d. 30-day backfill', results.d_backfill_30_days);
      }
    }

    if (which.has('e')) {
      // e. a 10-million-event day staged and loaded by a worker process: time and peak RSS; 1M for linearity
      const sizes = [1_000_000, 10_000_000];
      // as in production (Dockerfile): compiled JavaScript and a prebuilt workflow bundle
      const bundle = path.join(DATA, 'workflow-bundle.js');
      execFileSync('npx', ['tsc', '-p', path.join(ROOT, 'tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
      execFileSync(process.execPath, [path.join(ROOT, 'dist/src/cli/build-workflow-bundle.js'), bundle], {
        stdio: 'ignore',
      });
      const runs: Record<string, { ms: number; peakRssMb: number; stepsMs: Record<string, number> }> = {};
      for (const n of sizes) {
        const dir = await dataset(n === 1_000_000 ? '1m' : '10m', { days: 1, eventsPerDay: n, songs: 2000, seed: 7 });
        const db = await freshDb('bench_e');
        const taskQueue = `bench-e-${n}-${Date.now()}`;
        const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/worker.js')], {
          env: {
            ...process.env,
            TEMPORAL_ADDRESS: env.address,
            TASK_QUEUE: taskQueue,
            WAREHOUSE_URL: db.url,
            SOURCE_URL: dir,
            LOG_LEVEL: 'WARN',
            WORKFLOW_BUNDLE: bundle,
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        await new Promise((r) => setTimeout(r, 3000));
        const t = performance.now();
        const result = (await env.client.workflow.execute('SparkifyEtl', {
          taskQueue,
          workflowId: `bench-e-${n}-${Date.now()}`,
          args: [{ start: '2018-11-01T00:00Z', end: '2018-11-02T00:00Z' }],
        })) as SparkifyEtlResult;
        const ms = performance.now() - t;
        // the worker is one node process; VmHWM is its peak RSS
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
        runs[String(n)] = { ms: round(ms, 0), peakRssMb: round(hwm / 1024, 0), stepsMs: result.durationsMs };
        child.kill('SIGINT');
        await once(child, 'exit');
        await db.pool.end();
        console.log(`e. ${n} events`, runs[String(n)]);
      }
      const r1 = runs['1000000']!;
      const r10 = runs['10000000']!;
      results.e_scale = { runs, timeRatio10mTo1m: round(r10.ms / r1.ms), target: 'peak RSS < 300 MB; 10M <= 12 x 1M' };
      console.log('e. scale', results.e_scale);
    }
  } finally {
    await env.teardown();
  }

  const stamp = new Date().toISOString();
  const previous = existsSync(path.join(RESULTS, 'results.json'))
    ? JSON.parse(readFileSync(path.join(RESULTS, 'results.json'), 'utf8'))
    : {};
  const merged = { ...previous, ...results, updated: stamp };
  await writeFile(path.join(RESULTS, 'results.json'), JSON.stringify(merged, null, 2) + '\n');
  const md = [
    '# Benchmark results',
    '',
    `Machine: ${merged.machine}. Updated ${stamp}.`,
    '',
    '| benchmark | result | baseline (same run) | ratio / figure | target |',
    '|---|---|---|---|---|',
  ];
  const a = merged.a_end_to_end_1m;
  if (a)
    md.push(
      `| a. 1M-event interval end to end | ${a.temporalMs} ms via Temporal | ${a.directMs} ms, same statements called directly | ${a.ratio} | ${a.target} |`,
    );
  const b = merged.b_orchestration_overhead;
  if (b)
    md.push(
      `| b. orchestration overhead (~${b.eventsPerHour} events/h, ${b.runs} runs back to back) | median ${b.overheadMedianMs} ms, p95 ${b.overheadP95Ms} ms | run wall time median ${b.wallMedianMs} ms | ${b.spaced ? `${b.spaced.runs} runs 1.5 s apart: median ${b.spaced.overheadMedianMs} ms, p95 ${b.spaced.overheadP95Ms} ms` : '–'} | ${b.target} |`,
    );
  const c = merged.c_staging;
  if (c)
    md.push(
      `| c. staging ingest (1M events) | ${c.oursRowsPerS} rows/s (${c.oursMs} ms) | psql \\copy CSV ${c.psqlRowsPerS} rows/s (${c.psqlCopyMs} ms) | ${c.ratio} | ${c.target} |`,
    );
  const d = merged.d_backfill_30_days;
  if (d)
    md.push(
      `| d. 30-day hourly backfill (720 runs) | best ${d.bestMs} ms | ${Object.entries(d)
        .filter(([k]) => k.startsWith('concurrency'))
        .map(([k, v]) => `${k.replace('_ms', '').replace('_', ' ')}: ${v} ms`)
        .join(', ')} | – | ${d.target} |`,
    );
  const e = merged.e_scale;
  if (e)
    md.push(
      `| e. 10M-event day | ${e.runs['10000000'].ms} ms, peak RSS ${e.runs['10000000'].peakRssMb} MB | 1M: ${e.runs['1000000'].ms} ms, ${e.runs['1000000'].peakRssMb} MB | 10M/1M time ${e.timeRatio10mTo1m} | ${e.target} |`,
    );
  if (a)
    md.push(
      '',
      `Slowest step of the 1M-event run: ${a.slowestStep} (${a.stepsMs[a.slowestStep]} ms); all steps: ${JSON.stringify(a.stepsMs)}`,
    );
  if (b) md.push('', `Median step times for a sample hour (ms): ${JSON.stringify(b.stepMedianMs)}`);
  await writeFile(path.join(RESULTS, 'results.md'), md.join('\n') + '\n');
  console.log(md.join('\n'));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
