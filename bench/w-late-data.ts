/**
 * w. The late-data watcher's cost per cycle with nothing changed: an index of 365 day files, the last 30 days'
 * hours loaded (720 hours with what their runs read, as each run records it), one LateDataWatcher cycle after
 * another through the server. Baseline, measured in the same run: listing the 365 files alone (what no cycle can
 * skip). Also the first cycle, which builds the index by reading every file once.
 */
import { randomUUID } from 'node:crypto';
import { DAY_MS, fromMs, workflowIdFor } from '../src/interval';
import { openSource } from '../src/source';
import { postgres } from '../src/warehouse/dialect';
import type { LateDataWatcherResult } from '../src/workflows/late-data-watcher';
import { dataset, freshDb, median, round, type Bench, type Figures } from './support';

const YEAR = { days: 365, eventsPerDay: 300, songs: 200, seed: 23 };
const CYCLES = Number(process.env.BENCH_W_CYCLES || 20);

export async function benchW(bench: Bench): Promise<Figures> {
  const sample = await dataset('year365', YEAR);
  const db = await freshDb('bench_w');
  const deployment = `bench-w-${randomUUID().slice(0, 8)}`;
  const source = openSource(sample);
  const listing: number[] = [];
  const cycles: number[] = [];
  let firstMs = 0;
  let reread = 0;
  let files = 0;
  await bench.withWorker(db.pool, sample, async (taskQueue) => {
    const cycle = async () => {
      const t = performance.now();
      const r: LateDataWatcherResult = await bench.env.client.workflow.execute('LateDataWatcher', {
        taskQueue,
        workflowId: `${deployment}-late-${randomUUID().slice(0, 8)}`,
        args: [{ deployment, lookback: '5000d' }],
      });
      return { ms: performance.now() - t, r };
    };
    const first = await cycle();
    firstMs = first.ms;
    files = first.r.index.files;
    // The last 30 days loaded: each day's hours with what a run of that day would have recorded reading.
    const lastDay = Date.parse('2018-11-01T00:00Z') + (YEAR.days - 1) * DAY_MS;
    for (let d = lastDay - 29 * DAY_MS; d <= lastDay; d += DAY_MS) {
      const interval = fromMs({ startMs: d, endMs: d + DAY_MS });
      const runId = randomUUID();
      const key = `log_data/${interval.start.slice(0, 4)}/${interval.start.slice(5, 7)}/${interval.start.slice(0, 10)}-events.json`;
      const version = (await source.stat(key))!.version;
      await db.pool.query(
        postgres.sourceIndex!.recordRunReads({
          runId,
          workflowId: null,
          source: source.location,
          startMs: d,
          endMs: d + DAY_MS,
          paths: [key],
          versions: [version],
          missing: [],
        }),
      );
      await db.pool.query(
        `INSERT INTO etl_runs (workflow_id, run_id, interval_start, interval_end, status, rows, checks, durations_ms)
         VALUES ($1, $2, $3::timestamp, $4::timestamp, 'succeeded', '{}', '[]', '{}')`,
        [workflowIdFor(interval, deployment), runId, interval.start.slice(0, 19), interval.end.slice(0, 19)],
      );
    }
    for (let i = 0; i < CYCLES; i++) {
      const t = performance.now();
      for await (const f of source.listEventFiles()) void f;
      listing.push(performance.now() - t);
      const c = await cycle();
      cycles.push(c.ms);
      reread += c.r.index.indexed;
      if (c.r.reruns.length) throw new Error(`nothing changed, yet ${c.r.reruns.length} hour(s) were found stale`);
    }
  });
  await db.pool.end();
  const w_late_data_watcher = {
    files,
    loadedHours: 720,
    cycles: CYCLES,
    firstCycleMs: round(firstMs, 0),
    cycleMedianMs: round(median(cycles), 1),
    listingMedianMs: round(median(listing), 1),
    cycleToListing: round(median(cycles) / median(listing), 1),
    filesReread: reread,
    target: '< 1000 ms per cycle, no file re-read',
  };
  console.log('w. late-data watcher, nothing changed', w_late_data_watcher);
  return { w_late_data_watcher };
}
