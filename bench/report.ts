/**
 * Writes bench/results/results.json (this run's figures over the previous ones: a benchmark not run keeps its
 * last figures) and results.md, the table of every benchmark's last figures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RESULTS, type Figures } from './support';

const round1 = (x: number) => Math.round(x * 10) / 10;

export async function writeResults(results: Figures): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
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
  const f = merged.f_year_of_hours;
  if (f)
    md.push(
      `| f. ${f.runs} hourly runs (~${f.eventsPerHour} events/h, ${f.songs} songs), concurrency ${f.settings.concurrency} | ${f.ms} ms, ${f.runsPerS} runs/s; counts ${f.countsMatchTally ? 'equal' : 'DIFFER from'} the generator's tally | ${f.baseline ? `the first ${f.baseline.runs} runs, steps as ordinary activities: ${f.baseline.runsPerS} runs/s; as a backfill runs them now: ${f.sameDays.runsPerS} runs/s` : '–'} | ${f.ratio ?? '–'} x${f.cpu ? `; CPU: server ${f.cpu.percent.server} %, worker ${f.cpu.percent.worker} %, warehouse ${f.cpu.percent.warehouse} %, other ${round1(f.cpu.percent.otherPostgres + f.cpu.percent.rest)} %, idle ${f.cpu.percent.idle} %` : ''} | ${f.target} |`,
    );
  const g = merged.g_cli;
  if (g) {
    const runs = (g.history ?? []) as { sparkifyMedianMs: number; workflowMedianMs: number }[];
    const range = (xs: number[]) =>
      xs.length > 1 ? `; medians of the last ${xs.length} runs of g: ${Math.min(...xs)}-${Math.max(...xs)} ms` : '';
    md.push(
      `| g. \`sparkify etl\`, one sample hour (~${g.eventsPerHour} events), against a running worker (${g.runs} runs) | median ${g.sparkifyEtl.medianMs} ms (${g.sparkifyEtl.minMs}-${g.sparkifyEtl.maxMs})${range(runs.map((r) => r.sparkifyMedianMs))} | the run itself (history): median ${g.workflow.medianMs} ms; \`npm run etl\`: median ${g.npmRunEtl.medianMs} ms (${g.npmRunEtl.runs} runs); node -e 0: ${g.nodeAlone.medianMs} ms | command's own time (wall - run): median ${g.commandOverhead.medianMs} ms; npm/sparkify ${g.npmToSparkify}; load average ${g.loadAverage} on ${g.cores} cores | ${g.target} |`,
    );
  }
  const w = merged.w_late_data_watcher;
  if (w)
    md.push(
      `| w. late-data watcher cycle, nothing changed (${w.files} day files, ${w.loadedHours} loaded hours) | median ${w.cycleMedianMs} ms, ${w.filesReread} file(s) re-read in ${w.cycles} cycles | listing the files alone: ${w.listingMedianMs} ms | ${w.cycleToListing} x; first cycle (builds the index) ${w.firstCycleMs} ms | ${w.target} |`,
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
