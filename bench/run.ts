/**
 * Benchmarks (not tests): each measurement is printed with a baseline taken in the same run, on the same
 * PostgreSQL, and written to bench/results/ (report.ts). Usage: `npm run bench -- [a] [b] [c] [d] [e] [f] [g] [w]`
 * (default a b c d w; e, the 10-million-event day, writes 4.4 GB and takes minutes; f, a year of hourly runs, minutes). One file per benchmark;
 * support.ts has what they share. BENCH_PG_URL picks the server (default
 * postgres://postgres@127.0.0.1:5432/postgres); data is generated under .data/bench once. BENCH_NO_EAGER=1
 * starts the dev server without eager activity execution, to compare; BENCH_SERVER_ARGS adds dev-server flags,
 * e.g. `--dynamic-config-value history.transferProcessorMaxPollRPS=20` (the server's default). b has knobs of
 * its own (b-overhead.ts).
 */
import { benchA } from './a-end-to-end';
import { benchB } from './b-overhead';
import { benchC } from './c-staging';
import { benchD } from './d-backfill';
import { benchE } from './e-scale';
import { benchF } from './f-year';
import { benchG } from './g-cli';
import { benchW } from './w-late-data';
import { writeResults } from './report';
import { startBench, type Bench, type Figures } from './support';

/** In the order they run: c before a, which then finds the 1M-event data set generated. */
const BENCHMARKS: Record<string, (bench: Bench) => Promise<Figures>> = {
  c: benchC,
  a: benchA,
  b: benchB,
  d: benchD,
  e: benchE,
  f: benchF,
  g: benchG,
  w: benchW,
};

const USAGE = `usage: npm run bench -- [a b c d e f g w]

Runs the named benchmarks (a b c d w when none is named) on this machine and writes bench/results/; each
prints its ratio against a baseline measured in the same run. See docs/benchmarks.md.`;

async function main() {
  const asked = process.argv.slice(2);
  if (asked.includes('--help') || asked.includes('-h')) return void console.log(USAGE);
  const unknown = asked.filter((name) => !(name in BENCHMARKS));
  if (unknown.length)
    throw new Error(`unknown benchmark(s) ${unknown.join(' ')}: use ${Object.keys(BENCHMARKS).sort().join(' ')}`);
  const which = new Set(asked.length ? asked : ['a', 'b', 'c', 'd', 'w']);
  const bench = await startBench();
  const results: Figures = { machine: bench.machine };
  try {
    for (const [name, run] of Object.entries(BENCHMARKS)) if (which.has(name)) Object.assign(results, await run(bench));
  } finally {
    await bench.env.teardown();
  }
  await writeResults(results);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
