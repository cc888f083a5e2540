/**
 * a. The 1M-event interval end to end through Temporal (worker already running) against the same activities
 * called one after another with no Temporal, three times each in alternating order.
 */
import type { Pool } from 'pg';
import { createActivities } from '../src/activities';
import { intervalKey, makeInterval } from '../src/interval';
import { DEFAULT_LOAD_MODES, TABLES, type SparkifyEtlResult } from '../src/types';
import { inActivityContext } from '../test/support/activities';
import { DAY, dataset, freshDb, median, ONE_MILLION, round, type Bench, type Figures } from './support';

/**
 * The activities in the workflow's order, called directly (each in an activity context, as a worker runs it):
 * the same statements with no Temporal.
 */
async function direct(pool: Pool, source: string, start: string, end: string) {
  const acts = inActivityContext(createActivities({ pool, defaultSource: source }));
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

export async function benchA(bench: Bench): Promise<Figures> {
  const big = await dataset('1m', ONE_MILLION);
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
        const res = (await bench.withWorker(d1.pool, big, async (taskQueue) => {
          const t = performance.now();
          const r = await bench.env.client.workflow.execute('SparkifyEtl', {
            taskQueue,
            workflowId: `bench-a-${Date.now()}`,
            args: [{ start: DAY[0], end: DAY[1] }],
          });
          viaTemporal.push(performance.now() - t);
          return r;
        })) as SparkifyEtlResult;
        slowest = Object.entries(res.durationsMs).sort((x, y) => y[1] - x[1]);
        await d1.pool.end();
      } else {
        const d2 = await freshDb('bench_a2');
        const dr = await direct(d2.pool, big, DAY[0], DAY[1]);
        viaDirect.push(dr.ms);
        directSteps = dr.steps;
        await d2.pool.end();
      }
    }
  }
  const a_end_to_end_1m = {
    events: 1_000_000,
    temporalMs: round(median(viaTemporal), 0),
    directMs: round(median(viaDirect), 0),
    ratio: round(median(viaTemporal) / median(viaDirect)),
    target: '<= 1.10',
    stepsMs: Object.fromEntries(slowest),
    directStepsMs: Object.fromEntries(Object.entries(directSteps).map(([k, v]) => [k, round(v, 0)])),
    slowestStep: slowest[0]?.[0],
  };
  console.log('a. end to end', a_end_to_end_1m);
  return { a_end_to_end_1m };
}
