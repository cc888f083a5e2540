import {
  MAX_BACKFILL_HOURS,
  planBackfill,
  REPROCESS,
  runBackfill,
  type BackfillProgress,
  type Reprocess,
} from '../backfill';
import { loadConfig } from '../config';
import { inputProblems } from '../input';
import { HOUR_MS, toMs } from '../interval';
import { badDataHint, sameSource } from '../outcome';
import { configuredRunInput } from '../run-input';
import { connectClient } from '../temporal';
import {
  commandLine,
  defineCommand,
  intervalOption,
  intOption,
  parseCommandLine,
  sayOnInterrupt,
  timeArgument,
  UsageError,
  usageText,
} from './args';
import { failedHoursLines, groupFailedHours } from './failed-hours';
import { TIME_HELP } from './times';

/** How many completed hours with warnings the summary names; the rest are counted. */
const WARNINGS_LISTED = 10;

const USAGE = `usage: npm run backfill -- --from TIME --to TIME [options]

Runs SparkifyEtl once per hour of [from, to) (UTC, on whole hours, at most ${MAX_BACKFILL_HOURS} hours), shows
progress, prints a summary that lists each failed hour with its one-line cause, and exits 1 if any hour failed
(2 on a usage or configuration error). A lost connection to Temporal is reconnected and the runs' real
outcomes are read; an hour whose outcome could not be read is reported as unknown. Safe to run again: each hour's workflow id
is derived from the hour, so hours already completed are skipped and hours still running are joined.
${TIME_HELP}. Example: npm run backfill -- --from yesterday --to yesterday (its 24 hours).

options:
  --concurrency N       hours run at the same time (default 4); runs are isolated, so any N is correct
  --reprocess MODE      none: only hours never run; failed (default): also hours whose last run failed;
                        all: every hour, completed ones included (no duplicates: loads replace/upsert)
  --max-errors N        bad source lines each hour tolerates (kept in load_errors); default 0. An hour
                        with more fails naming the first and counting all of them
  --dry-run             print the plan and start nothing
  --reverse             newest hour first
  --source URL          source for these runs (default: the worker's SOURCE_URL)`;

function bar(p: BackfillProgress): string {
  const width = 30;
  const finished = p.done + p.failed + p.skipped;
  const filled = p.total ? Math.round((finished / p.total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${p.total}  done ${p.done}  failed ${p.failed}  running ${p.running}  skipped ${p.skipped}`;
}

export const command = defineCommand(module, USAGE, async () => {
  const { values, positionals } = parseCommandLine({
    from: { type: 'string' },
    to: { type: 'string' },
    concurrency: { type: 'string' },
    reprocess: { type: 'string' },
    'dry-run': { type: 'boolean' },
    reverse: { type: 'boolean' },
    source: { type: 'string' },
    'max-errors': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return void console.log(usageText(USAGE));
  if (positionals.length) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  const range = intervalOption(values.from, values.to);
  const { startMs, endMs } = toMs(range);
  for (const [name, ms] of [
    ['--from', startMs],
    ['--to', endMs],
  ] as const) {
    if (ms % HOUR_MS !== 0) {
      const down = new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString().slice(0, 16) + 'Z';
      throw new UsageError(`${name} ${new Date(ms).toISOString()} is not on a whole hour; did you mean ${down}?`);
    }
  }
  if (endMs > Date.now()) {
    const last = new Date(Math.floor(Date.now() / HOUR_MS) * HOUR_MS).toISOString().slice(0, 16) + 'Z';
    throw new UsageError(
      `--to ${new Date(endMs).toISOString()} is in the future: an hour is loaded once it is over ` +
        `(the last complete hour ends at ${last}: --to now; the schedule loads each hour as it ends)`,
    );
  }
  const hours = (endMs - startMs) / HOUR_MS;
  if (hours > MAX_BACKFILL_HOURS) {
    throw new UsageError(
      `the range holds ${hours} hours; a backfill may span at most ${MAX_BACKFILL_HOURS} (366 days)`,
    );
  }
  const reprocess = (values.reprocess ?? 'failed') as Reprocess;
  if (!REPROCESS.includes(reprocess)) throw new UsageError(`--reprocess must be one of ${REPROCESS.join(', ')}`);
  const concurrency = intOption(values.concurrency, 'concurrency', 4, 1);
  const maxErrors = intOption(values['max-errors'], 'max-errors', 0);
  // the bound the workflow holds its input to: refused here, before any hour starts
  const problems = inputProblems({ maxErrors });
  if (problems.length)
    throw new UsageError(problems.map((p) => p.replace(/^maxErrors: /, '--max-errors: ')).join('\n'));

  const config = loadConfig();
  const { client, connection } = await connectClient();
  try {
    const plan = await planBackfill(client, range, {
      reprocess,
      reverse: values.reverse ?? false,
      deployment: config.deployment,
    });
    const count = (a: string) => plan.filter((h) => h.action === a).length;
    console.log(
      `backfill ${range.start} .. ${range.end}: ${plan.length} hour(s): ${count('run')} to run, ` +
        `${count('join')} running (joined), ${count('skip')} skipped (reprocess=${reprocess})`,
    );
    if (values['dry-run']) {
      for (const h of plan) console.log(`  ${h.action.padEnd(4)}  ${h.workflowId}  (last run: ${h.previous})`);
      return 0;
    }
    // Ctrl-C (or SIGTERM) stops the backfill starting hours; the runs it started go on.
    const toRun = plan.filter((h) => h.action !== 'skip');
    sayOnInterrupt(
      () =>
        `stopped: no more hours are started; the runs already started or joined go on` +
        (toRun.length ? ` (workflow ids ${toRun[0]!.workflowId} .. ${toRun.at(-1)!.workflowId})` : '') +
        (reprocess === 'all'
          ? '. To finish, run it again without --reprocess all (--reprocess all would run every hour once more):' +
            ' it skips the hours completed, joins those still running and runs the rest'
          : '. Run the same command again: it skips the hours completed, joins those still running and runs the rest'),
    );
    const tty = process.stderr.isTTY;
    let lastLine = 0;
    let lastReconnect = 0;
    const onReconnect = (message: string) => {
      if (Date.now() - lastReconnect < 5_000) return;
      lastReconnect = Date.now();
      process.stderr.write(
        `${tty ? '\n' : ''}lost the connection to Temporal (${message.split('\n')[0]}); reconnecting\n`,
      );
    };
    const outcomes = await runBackfill(
      client,
      plan,
      {
        taskQueue: config.taskQueue,
        concurrency,
        onReconnect,
        input: { ...configuredRunInput(config), maxErrors, ...(values.source ? { source: values.source } : {}) },
      },
      (p) => {
        if (tty) process.stderr.write(`\r${bar(p)}`);
        else if (Date.now() - lastLine > 2_000 || p.done + p.failed + p.skipped === p.total) {
          lastLine = Date.now();
          process.stderr.write(`${bar(p)}\n`);
        }
      },
    );
    if (tty) process.stderr.write('\n');
    const failed = outcomes.filter((o) => o.status === 'failed');
    const unknown = outcomes.filter((o) => o.status === 'unknown');
    const refused = outcomes.filter((o) => o.status === 'refused');
    const completed = outcomes.filter((o) => o.status === 'completed');
    console.log('');
    console.log(`${'outcome'.padEnd(10)} hours`);
    console.log(`${'completed'.padEnd(10)} ${completed.length}`);
    console.log(`${'skipped'.padEnd(10)} ${outcomes.filter((o) => o.status === 'skipped').length}`);
    console.log(`${'failed'.padEnd(10)} ${failed.length}`);
    if (unknown.length) console.log(`${'unknown'.padEnd(10)} ${unknown.length}`);
    if (refused.length) console.log(`${'refused'.padEnd(10)} ${refused.length}`);
    // Completed with warnings (a missing event day file, ...): said as etl says it, the first few by name.
    const warned = completed.filter((o) => o.warnings?.length);
    if (warned.length) console.log(`${'warnings'.padEnd(10)} ${warned.length} of the completed`);
    for (const w of warned.slice(0, WARNINGS_LISTED))
      console.log(`  WARNING ${w.interval.start.slice(0, 13)}h  ${w.workflowId}: ${w.warnings!.join('; ')}`);
    if (warned.length > WARNINGS_LISTED)
      console.log(`  ... and ${warned.length - WARNINGS_LISTED} more hour(s) with warnings`);
    // Hours that failed alike (a bad line with no time fails every hour of its day) are one line, not 24.
    for (const line of failedHoursLines(groupFailedHours(failed))) console.log(line);
    // What to do about bad source lines, as etl says it under its failure: once, however many hours hit one.
    const onBadData = failed.filter((f) => f.badData);
    if (onBadData.length) {
      const found = Math.max(0, ...onBadData.map((f) => f.badData?.tooMany?.badLines ?? 0));
      // the same backfill again: it runs the failed hours again and skips those completed
      const again = ['--from', timeArgument(range.start), '--to', timeArgument(range.end)];
      if (values.source) again.push('--source', values.source);
      if (values['max-errors'] !== undefined) again.push('--max-errors', values['max-errors']);
      if (values.concurrency !== undefined) again.push('--concurrency', values.concurrency);
      const hint = badDataHint({
        watched: !values.source || sameSource(values.source, config.sourceUrl),
        again: commandLine('backfill', again),
        maxErrors,
        ...(found ? { found, foundBy: 'hour' as const } : {}),
      });
      for (const line of hint) console.log(line);
    }
    for (const u of unknown) console.log(`  UNKNOWN ${u.workflowId}: ${u.error}`);
    for (const r of refused) console.log(`  REFUSED ${r.workflowId}: ${r.error}`);
    return failed.length || unknown.length || refused.length ? 1 : 0;
  } finally {
    await connection.close();
  }
});
