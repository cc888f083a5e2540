/**
 * d. A 30-day hourly backfill (720 runs) through runBackfill, as `npm run backfill` runs it, at concurrency 8
 * and 16 on a fresh database each.
 */
import { planBackfill, runBackfill } from '../src/backfill';
import { makeInterval } from '../src/interval';
import { dataset, freshDb, round, THIRTY_DAYS, type Bench, type Figures } from './support';

export async function benchD(bench: Bench): Promise<Figures> {
  const sample = await dataset('sample30', THIRTY_DAYS);
  const out: Record<string, number> = {};
  for (const concurrency of [8, 16]) {
    const db = await freshDb('bench_d');
    const t = performance.now();
    await bench.withWorker(
      db.pool,
      sample,
      async (taskQueue) => {
        const plan = await planBackfill(bench.env.client, makeInterval('2018-11-01T00:00Z', '2018-12-01T00:00Z'), {
          reprocess: 'all',
          deployment: `bench-d-${Date.now()}`,
        });
        const o = await runBackfill(bench.env.client, plan, { taskQueue, concurrency });
        const failed = o.filter((x) => x.status !== 'completed');
        if (failed.length) throw new Error(`${failed.length} hours failed: ${failed[0]?.error}`);
      },
      { concurrency: concurrency * 4 },
    );
    out[`concurrency_${concurrency}_ms`] = round(performance.now() - t, 0);
    await db.pool.end();
  }
  const d_backfill_30_days = {
    runs: 720,
    eventsPerDay: THIRTY_DAYS.eventsPerDay,
    songs: THIRTY_DAYS.songs,
    ...out,
    bestMs: Math.min(...Object.values(out)),
    target: '< 120000 ms',
  };
  console.log('d. 30-day backfill', d_backfill_30_days);
  return { d_backfill_30_days };
}
