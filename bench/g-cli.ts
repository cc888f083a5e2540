/**
 * g. A command that answers at once: `sparkify etl` (the compiled bin, `npm run build` first) for one sample hour
 * (~333 events, bench b's data) against a running worker process (`sparkify worker`), timed from spawn to exit,
 * BENCH_G_RUNS times (default 15), each on an hour of its own. Beside it, in the same run: each run's own duration
 * from its history (started to closed), the old path (`npm run etl`, npm + tsx) on a third as many hours, and
 * node starting and exiting (`node -e 0`), the floor of any command. Target: sparkify etl under 400 ms.
 * The figures of the last five runs of g are kept (results.json `g_cli.history`), for their range.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workflowIdFor } from '../src/interval';
import { runCommand } from '../test/support/processes';
import { dataset, DATA, freshDb, median, pct, RESULTS, ROOT, startWorkerProcess, THIRTY_DAYS } from './support';
import type { Bench, Figures } from './support';

const BIN = path.join(ROOT, 'bin', 'sparkify.js');
const RUNS = Number(process.env.BENCH_G_RUNS || 15);

/** Wall time of a command, spawn to exit, in ms; it must succeed. */
async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t = performance.now();
  const res = await runCommand(cmd, args, env);
  const ms = performance.now() - t;
  if (res.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return ms;
}

/** The h-th hour from 2018-11-02 00:00Z, as an interval. */
const hour = (h: number) => {
  const start = Date.UTC(2018, 10, 2) + h * 3_600_000;
  return { start: new Date(start).toISOString(), end: new Date(start + 3_600_000).toISOString() };
};
const range = (h: number) => ['--from', hour(h).start, '--to', hour(h).end];

const spread = (xs: number[]) => ({
  medianMs: Math.round(median(xs)),
  minMs: Math.round(Math.min(...xs)),
  p90Ms: Math.round(pct(xs, 0.9)),
  maxMs: Math.round(Math.max(...xs)),
});

export async function benchG(bench: Bench): Promise<Figures> {
  const build = await runCommand('npm', ['run', '-s', 'build'], process.env, 600_000);
  if (build.code !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  const sample = await dataset('sample30', THIRTY_DAYS);
  const db = await freshDb('bench_g');
  const deployment = `bench-g-${randomUUID().slice(0, 8)}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: bench.env.address,
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: deployment,
    TASK_QUEUE: deployment,
    WAREHOUSE_URL: db.url,
    SOURCE_URL: sample,
    // prebuilt by startBench, as the Docker image's is
    WORKFLOW_BUNDLE: path.join(DATA, 'bench-workflow-bundle.js'),
  };
  const worker = await startWorkerProcess(BIN, ['worker'], env);
  const sparkify: number[] = [];
  const npm: number[] = [];
  const node: number[] = [];
  const ids: string[] = [];
  try {
    // The first run of the database stages the song set, and the first call fills V8's compile cache: not measured.
    await timed(BIN, ['etl', ...range(0)], env);
    for (let i = 1; i <= RUNS; i++) {
      node.push(await timed(process.execPath, ['-e', '0'], env));
      sparkify.push(await timed(BIN, ['etl', ...range(i)], env));
      ids.push(workflowIdFor(hour(i), deployment));
      if (i % 3 === 0) npm.push(await timed('npm', ['run', '-s', 'etl', '--', ...range(100 + i)], env));
    }
  } finally {
    await worker.stop('SIGINT');
    await db.pool.end();
  }
  // How busy the machine was (1-minute load average, against its cores): the figures move with it.
  const loadAverage = Math.round(os.loadavg()[0]! * 10) / 10;
  const workflow: number[] = [];
  for (const id of ids) {
    const ev = (await bench.env.client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const ms = (e: (typeof ev)[number]) => Number(e.eventTime!.seconds) * 1000 + (e.eventTime!.nanos ?? 0) / 1e6;
    workflow.push(ms(ev[ev.length - 1]!) - ms(ev[0]!));
  }
  const overhead = sparkify.map((s, i) => s - workflow[i]!);
  const figures = {
    runs: sparkify.length,
    eventsPerHour: Math.round(THIRTY_DAYS.eventsPerDay / 24),
    sparkifyEtl: spread(sparkify),
    workflow: spread(workflow),
    commandOverhead: spread(overhead),
    npmRunEtl: { runs: npm.length, ...spread(npm) },
    nodeAlone: spread(node),
    npmToSparkify: Math.round((median(npm) / median(sparkify)) * 100) / 100,
    loadAverage,
    cores: os.cpus().length,
    target: 'sparkify etl < 400 ms',
  };
  const previous = existsSync(path.join(RESULTS, 'results.json'))
    ? ((JSON.parse(readFileSync(path.join(RESULTS, 'results.json'), 'utf8')) as Figures).g_cli as
        { history?: unknown[] } | undefined)
    : undefined;
  const at = new Date().toISOString();
  const history = [
    ...(previous?.history ?? []),
    {
      at,
      sparkifyMedianMs: figures.sparkifyEtl.medianMs,
      workflowMedianMs: figures.workflow.medianMs,
      overheadMedianMs: figures.commandOverhead.medianMs,
      npmMedianMs: figures.npmRunEtl.medianMs,
      loadAverage,
    },
  ].slice(-5);
  const g_cli = { ...figures, history };
  console.log('g. sparkify etl', JSON.stringify(g_cli, null, 2));
  return { g_cli };
}
