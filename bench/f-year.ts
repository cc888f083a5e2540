/**
 * f. A year of hourly runs (8,760) through runBackfill, as `npm run backfill` runs it: ~330 events an hour and
 * bench d's 15,000 songs, the worker in this process, the dev server and PostgreSQL on this machine. Prints runs
 * per second, where the machine's time went (cpu-shares.ts) and checks the warehouse's counts against the
 * generator's own tally. Baseline, in the same run: the first days of the year with the steps as ordinary
 * activities (localSteps: false, as runs were before backfills took local steps), against the same days as a
 * backfill runs them now. BENCH_F_DAYS (default 365) runs a slice of the year; BENCH_F_BASELINE_DAYS (default
 * 7; 0 = none).
 */
import type { Pool } from 'pg';
import { planBackfill, runBackfill } from '../src/backfill';
import type { DayTally } from '../src/datagen/generate';
import { DAY_MS, fromMs } from '../src/interval';
import { sampleCpu, type CpuShares } from './cpu-shares';
import { dataset, freshDb, round, tallyOf, type Bench, type Figures } from './support';

/** 330 events an hour for a year, bench d's song set (15,000 songs, seed 11). */
export const YEAR_OF_HOURS = { days: 365, eventsPerDay: 7920, songs: 15000, seed: 11 };
const FIRST_DAY = Date.parse('2018-11-01T00:00Z');
const PROGRESS_EVERY = 240;

interface Settings {
  /** The steps as local activities (a backfill's default) or as ordinary ones. */
  localSteps: boolean;
  /** Runs in flight (runBackfill's concurrency, `npm run backfill --concurrency`). */
  concurrency: number;
  /** The worker's activity slots. */
  activities: number;
  /** The worker's workflow task slots. */
  workflowTasks?: number;
  /** Warehouse connections of the worker. */
  poolSize: number;
}

/** The baseline: bench d's settings, the steps as ordinary activities. */
const BASELINE_SETTINGS: Settings = { localSteps: false, concurrency: 16, activities: 64, poolSize: 12 };
/** What a year's backfill runs with (the worker's and the backfill's defaults, see README). */
const F_SETTINGS: Settings = {
  localSteps: true,
  concurrency: Number(process.env.BENCH_F_CONCURRENCY || 16),
  activities: Number(process.env.BENCH_F_ACTIVITIES || 64),
  poolSize: Number(process.env.BENCH_F_POOL || 12),
  ...(process.env.BENCH_F_WORKFLOW_TASKS ? { workflowTasks: Number(process.env.BENCH_F_WORKFLOW_TASKS) } : {}),
};

interface Counts {
  songplays: number;
  users: number;
  songs: number;
  artists: number;
  time: number;
  runs: number;
  succeeded: number;
}

/** What the warehouse must hold after loading `days` days: from the generator's tally, not from SQL. */
function expectedCounts(tally: DayTally[], days: number): Counts {
  const slice = tally.slice(0, days);
  const users = new Set(slice.flatMap((d) => d.playingUsers));
  return {
    songplays: slice.reduce((a, d) => a + d.nextSongs, 0),
    users: users.size,
    songs: YEAR_OF_HOURS.songs,
    artists: Math.ceil(YEAR_OF_HOURS.songs / 2.5),
    time: slice.reduce((a, d) => a + d.distinctTimes, 0),
    runs: days * 24,
    succeeded: days * 24,
  };
}

async function actualCounts(pool: Pool): Promise<Counts> {
  const { rows } = await pool.query<Record<keyof Counts, string>>(`
    SELECT (SELECT count(*) FROM songplays) AS songplays, (SELECT count(*) FROM users) AS users,
           (SELECT count(*) FROM songs) AS songs, (SELECT count(*) FROM artists) AS artists,
           (SELECT count(*) FROM time) AS time, (SELECT count(*) FROM etl_runs) AS runs,
           (SELECT count(*) FROM etl_runs WHERE status = 'succeeded') AS succeeded`);
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)])) as unknown as Counts;
}

async function backfillDays(
  bench: Bench,
  source: string,
  days: number,
  settings: Settings,
  label: string,
): Promise<{ ms: number; runsPerS: number; cpu: CpuShares | undefined; counts: Counts }> {
  const db = await freshDb('bench_f', settings.poolSize);
  const range = fromMs({ startMs: FIRST_DAY, endMs: FIRST_DAY + days * DAY_MS });
  const cpu = sampleCpu('bench_f');
  const t = performance.now();
  let progressAt = 0;
  let lastT = t;
  await bench.withWorker(
    db.pool,
    source,
    async (taskQueue) => {
      const plan = await planBackfill(bench.env.client, range, {
        reprocess: 'all',
        deployment: `bench-f-${Date.now()}`,
      });
      const input = { localSteps: settings.localSteps };
      const o = await runBackfill(
        bench.env.client,
        plan,
        { taskQueue, concurrency: settings.concurrency, input },
        (p) => {
          const ended = p.done + p.failed;
          if (ended >= progressAt) {
            const now = performance.now();
            console.log(
              `f. ${label}: ${ended}/${p.total} runs in ${round((now - t) / 1000, 1)} s` +
                (ended
                  ? ` (the last ${PROGRESS_EVERY} at ${round((PROGRESS_EVERY * 1000) / (now - lastT), 1)} runs/s)`
                  : ''),
            );
            progressAt += PROGRESS_EVERY;
            lastT = now;
          }
        },
      );
      const failed = o.filter((x) => x.status !== 'completed');
      if (failed.length) throw new Error(`${failed.length} hours failed: ${failed[0]?.error}`);
    },
    {
      concurrency: settings.activities,
      ...(settings.workflowTasks ? { workflowTasks: settings.workflowTasks } : {}),
    },
  );
  const ms = performance.now() - t;
  const shares = cpu.stop();
  const counts = await actualCounts(db.pool);
  await db.pool.end();
  return { ms: round(ms, 0), runsPerS: round((days * 24 * 1000) / ms, 1), cpu: shares, counts };
}

export async function benchF(bench: Bench): Promise<Figures> {
  const source = await dataset('year8760', YEAR_OF_HOURS);
  const tally = await tallyOf(source);
  if (!tally) throw new Error(`${source} was generated without its tally: delete it to generate it again`);
  const days = Number(process.env.BENCH_F_DAYS || YEAR_OF_HOURS.days);
  const baselineDays = Number(process.env.BENCH_F_BASELINE_DAYS ?? 7);

  const baseline =
    baselineDays > 0 ? await backfillDays(bench, source, baselineDays, BASELINE_SETTINGS, 'baseline') : undefined;
  const slice =
    baselineDays > 0 ? await backfillDays(bench, source, baselineDays, F_SETTINGS, 'the same days') : undefined;
  const year = await backfillDays(bench, source, days, F_SETTINGS, days === 365 ? 'year' : `${days} days`);
  const expected = expectedCounts(tally, days);
  const wrong = (Object.keys(expected) as (keyof Counts)[]).filter((k) => expected[k] !== year.counts[k]);
  const f_year_of_hours = {
    runs: days * 24,
    eventsPerHour: Math.round(YEAR_OF_HOURS.eventsPerDay / 24),
    songs: YEAR_OF_HOURS.songs,
    settings: F_SETTINGS,
    ms: year.ms,
    runsPerS: year.runsPerS,
    cpu: year.cpu,
    counts: year.counts,
    countsMatchTally: wrong.length === 0,
    ...(baseline && slice
      ? {
          baseline: {
            what: `the first ${baselineDays} days, the steps as ordinary activities (bench d's settings), same run`,
            runs: baselineDays * 24,
            settings: BASELINE_SETTINGS,
            ms: baseline.ms,
            runsPerS: baseline.runsPerS,
            cpu: baseline.cpu,
          },
          sameDays: { runs: baselineDays * 24, ms: slice.ms, runsPerS: slice.runsPerS, cpu: slice.cpu },
          ratio: round(slice.runsPerS / baseline.runsPerS, 2),
        }
      : {}),
    target: '< 300000 ms for 8,760 runs (~30 runs/s), counts equal to the generator tally',
  };
  console.log('f. a year of hourly runs', JSON.stringify(f_year_of_hours, null, 2));
  if (wrong.length) {
    throw new Error(
      `f: counts differ from the generator's tally: ${wrong.map((k) => `${k} ${year.counts[k]} (expected ${expected[k]})`).join(', ')}`,
    );
  }
  return { f_year_of_hours };
}
