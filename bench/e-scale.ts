/**
 * e. A 10-million-event day staged and loaded by a worker process as production runs it (compiled JavaScript,
 * prebuilt workflow bundle): time and peak RSS, with the 1M-event day for linearity. Writes 4.4 GB of data.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SparkifyEtlResult } from '../src/types';
import {
  DATA,
  dataset,
  freshDb,
  ONE_MILLION,
  ROOT,
  round,
  startWorkerProcess,
  type Bench,
  type Figures,
} from './support';

export async function benchE(bench: Bench): Promise<Figures> {
  const sizes = [1_000_000, 10_000_000];
  const bundle = path.join(DATA, 'workflow-bundle.js');
  execFileSync('npx', ['tsc', '-p', path.join(ROOT, 'tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(ROOT, 'dist/src/cli/build-workflow-bundle.js'), bundle], {
    stdio: 'ignore',
  });
  const runs: Record<string, { ms: number; peakRssMb: number; stepsMs: Record<string, number> }> = {};
  for (const n of sizes) {
    const dir = await dataset(n === 1_000_000 ? '1m' : '10m', { ...ONE_MILLION, eventsPerDay: n });
    const db = await freshDb('bench_e');
    const taskQueue = `bench-e-${n}-${Date.now()}`;
    const worker = await startWorkerProcess(process.execPath, [path.join(ROOT, 'dist/src/worker.js')], {
      ...process.env,
      TEMPORAL_ADDRESS: bench.env.address,
      TASK_QUEUE: taskQueue,
      WAREHOUSE_URL: db.url,
      SOURCE_URL: dir,
      WORKFLOW_BUNDLE: bundle,
    });
    try {
      const t = performance.now();
      const result = (await bench.env.client.workflow.execute('SparkifyEtl', {
        taskQueue,
        workflowId: `bench-e-${n}-${Date.now()}`,
        args: [{ start: '2018-11-01T00:00Z', end: '2018-11-02T00:00Z' }],
      })) as SparkifyEtlResult;
      const ms = performance.now() - t;
      // the worker is one node process; VmHWM is its peak RSS
      const status = readFileSync(`/proc/${worker.child.pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      runs[String(n)] = { ms: round(ms, 0), peakRssMb: round(hwm / 1024, 0), stepsMs: result.durationsMs };
    } finally {
      await worker.stop('SIGINT');
      await db.pool.end();
    }
    console.log(`e. ${n} events`, runs[String(n)]);
  }
  const r1 = runs['1000000']!;
  const r10 = runs['10000000']!;
  const e_scale = { runs, timeRatio10mTo1m: round(r10.ms / r1.ms), target: 'peak RSS < 300 MB; 10M <= 12 x 1M' };
  console.log('e. scale', e_scale);
  return { e_scale };
}
