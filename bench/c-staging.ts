/**
 * c. Staging ingest: stageEvents of a 1M-event day against `psql \copy` of the same rows as CSV into the same
 * (UNLOGGED) table, alternating, seven times each after an unmeasured warm-up round of both; each round's table
 * is dropped before the clock starts. The figure is the ratio of the medians' rates; each round's pair (psql's
 * time over ours, the two run back to back) is kept too, since this machine's speed drifts by tens of percent
 * within a minute.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import path from 'node:path';
import { createActivities } from '../src/activities';
import { intervalKey, makeInterval } from '../src/interval';
import { wholeLines } from '../src/source';
import { parseEventLine } from '../src/source/records';
import { inActivityContext } from '../test/support/activities';
import { DAY, dataset, freshDb, median, ONE_MILLION, round, type Figures } from './support';

const ROUNDS = 7;

/** The day's events as CSV rows, as `psql \copy` reads them (written once, next to the data set). */
async function eventsCsv(dir: string): Promise<string> {
  const csv = path.join(dir, 'events.csv');
  if (existsSync(csv)) return csv;
  const out = createWriteStream(csv);
  for await (const piece of wholeLines(createReadStream(path.join(dir, 'log_data/2018/11/2018-11-01-events.json')))) {
    let chunk = '';
    for (const l of piece
      .toString('utf8')
      .split('\n')
      .filter((x) => x !== '')) {
      chunk +=
        parseEventLine(l)
          .values.map((v) => (v === null ? '' : typeof v === 'number' ? String(v) : `"${v.replace(/"/g, '""')}"`))
          .join(',') + '\n';
    }
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return csv;
}

export async function benchC(): Promise<Figures> {
  const big = await dataset('1m', ONE_MILLION);
  const csv = await eventsCsv(big);
  const db = await freshDb('bench_c');
  const ours: number[] = [];
  const psql: number[] = [];
  const acts = inActivityContext(createActivities({ pool: db.pool, defaultSource: big }));
  try {
    // Round 0 is a warm-up, not measured: our first staging of the day also builds the source index of its file
    // (reads and digests the 440 MB once, as a deployment's first run does), which psql has no counterpart of.
    for (let i = 0; i <= ROUNDS; i++) {
      await db.pool.query('DROP TABLE IF EXISTS bcopy; CREATE UNLOGGED TABLE bcopy (LIKE staging_events)');
      let t = performance.now();
      execFileSync('psql', [db.url, '-q', '-c', `\\copy bcopy FROM '${csv}' CSV`]);
      if (i > 0) psql.push(performance.now() - t);
      const interval = makeInterval(...DAY);
      // The previous round's staging table is dropped before the clock starts, as bcopy is for psql: a run drops
      // its own staging when it ends (recordRun), not when the next one stages.
      await acts.dropRunStaging({ runKey: intervalKey(interval) });
      t = performance.now();
      const r = await acts.stageEvents({
        runKey: intervalKey(interval),
        interval,
        source: '',
        maxErrors: 0,
        onMissingFile: 'fail',
      });
      if (i > 0) ours.push(performance.now() - t);
      if (r.rowsStaged !== 1_000_000) throw new Error(`staged ${r.rowsStaged}`);
    }
  } finally {
    await db.pool.end();
  }
  const oursRate = 1_000_000 / (median(ours) / 1000);
  const psqlRate = 1_000_000 / (median(psql) / 1000);
  const c_staging = {
    rows: 1_000_000,
    oursMs: round(median(ours), 0),
    psqlCopyMs: round(median(psql), 0),
    oursRowsPerS: round(oursRate, 0),
    psqlRowsPerS: round(psqlRate, 0),
    ratio: round(oursRate / psqlRate),
    // each round's time, in order: the spread behind the medians
    oursRunsMs: ours.map((x) => round(x, 0)),
    psqlRunsMs: psql.map((x) => round(x, 0)),
    pairedRatios: psql.map((x, i) => round(x / ours[i]!)),
    target: '>= 1.0',
  };
  console.log('c. staging ingest', c_staging);
  return { c_staging };
}
