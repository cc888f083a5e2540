import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import { isLookback, loadConfig, LOOKBACK_RULE } from '../config';
import { configuredRunInput } from '../run-input';
import { lateDataWatcherInput } from '../schedule';
import { connectClient } from '../temporal';
import { MAX_RERUNS_PER_CYCLE, type LateDataWatcherResult } from '../workflows/late-data-watcher';
import {
  commandNamed,
  defineCommand,
  intOption,
  parseCommandLine,
  sayOnInterrupt,
  UsageError,
  usageText,
} from './args';

const USAGE = `usage: npm run late -- [--dry-run] [--lookback DUR] [--concurrency N] [--max-reruns N] [--source URL]

Runs one cycle of the late-data watcher now (the worker runs it, as its schedule does every LATE_DATA_EVERY):
brings the source index up to date (reading only new or changed event files), finds the loaded hours of the
lookback whose feeding files changed, were added or were removed since their last run read them, re-runs each
under the hour's own workflow id with its reason, and prints what it re-ran and why. A failed hour whose lines
have not changed since it failed is left alone (a re-run would fail the same way): fix the cause, then npm run
etl that hour, or change its lines in a file (lines of other hours do not wake it). A loaded hour whose only
change is a removed file is held, its rows kept, not re-run (put the file back, or npm run etl the hour to load
it without the file).
At most --max-reruns hours a cycle, oldest first; the rest wait.
Exit codes: 0 every re-run succeeded (or nothing to do); 1 a re-run failed; 2 usage or configuration.

options:
  --dry-run          print what would be re-run and why; re-run nothing (the index is still brought up to date)
  --lookback DUR     how far back hours may be re-run, e.g. 48h or 30d (default LATE_DATA_LOOKBACK)
  --concurrency N    re-runs at once (default LATE_DATA_CONCURRENCY)
  --max-reruns N     at most N hours re-run by this cycle, oldest first (default ${MAX_RERUNS_PER_CYCLE}, as the schedule's cycles)
  --source URL       the source whose files to look at (default: the worker's SOURCE_URL, as the hourly runs)`;

const hour = (iso: string) => `${iso.slice(0, 13)}:00Z`;

/** What a cycle did, as the command prints it. */
export function formatCycle(r: LateDataWatcherResult): string {
  const lines = [
    `source ${r.index.location}: ${r.index.files} event file(s); ${r.index.indexed} read for the index (new or changed), ${r.index.removed} gone`,
    ...r.index.named.map((n) => `  ${n}`),
    `hours ${hour(r.from)} .. ${hour(r.to)}`,
  ];
  const failed = r.failedUnchanged ?? 0;
  const skipped =
    failed > 0
      ? `${failed} failed hour(s) left alone: nothing in their source changed since they failed, so a re-run would` +
        ` fail the same way (${commandNamed('status')} shows why; fix the cause, then ${commandNamed('etl')} that hour, or change its lines in a file)`
      : undefined;
  const held = heldLine(r);
  if (r.reruns.length === 0) {
    lines.push(
      failed > 0 || held ? 'nothing to re-run' : 'nothing to re-run: every loaded hour read what its files hold now',
    );
    if (held) lines.push(held);
    if (skipped) lines.push(skipped);
    return lines.join('\n');
  }
  const waiting = r.waiting ?? 0;
  if (waiting > 0) {
    const total = r.reruns.length + waiting;
    lines.push(
      `${r.reruns.length} of ${total} stale hours ${r.dryRun ? 'would be ' : ''}re-run now (the oldest);` +
        ` ${waiting} wait for the next cycle`,
    );
  }
  // Two cycles at once (the schedule's and this one) pick the same hours: the later one skips those in progress.
  const inProgress = r.reruns.filter((x) => x.outcome.startsWith('skipped')).length;
  lines.push(
    r.dryRun
      ? `dry run: would re-run ${r.reruns.length} hour(s):`
      : inProgress
        ? `re-ran ${r.reruns.length - inProgress} hour(s), skipped ${inProgress} (a run of the hour was in progress):`
        : `re-ran ${r.reruns.length} hour(s):`,
  );
  for (const x of r.reruns) {
    const outcome = r.dryRun ? '' : `  ${x.outcome}${x.error ? `: ${x.error}` : ''}`;
    lines.push(`  ${hour(x.start)}  ${x.workflowId}${outcome}  (${x.reason})`);
  }
  if (held) lines.push(held);
  if (skipped) lines.push(skipped);
  return lines.join('\n');
}

/** The hours held because files they read are gone (not re-run: a re-run would delete their rows). */
function heldLine(r: LateDataWatcherResult): string | undefined {
  if (!r.held) return undefined;
  const { hours, first, last, files, filesTotal } = r.held;
  const more = filesTotal - files.length;
  const names = more > 0 ? `${files.join(', ')} and ${more} more` : files.join(', ');
  const one = filesTotal === 1;
  const span = first === last ? hour(first) : `${hour(first)} .. ${hour(last)}`;
  return (
    `${hours} hour(s) held (${span}): ${names} ${one ? 'was' : 'were'} removed since they were loaded (rows kept;` +
    ` put the file${one ? '' : 's'} back, or run ${commandNamed('etl')} for those hours to load them without ${one ? 'it' : 'them'})`
  );
}

export const command = defineCommand(module, USAGE, async () => {
  const { values, positionals } = parseCommandLine({
    'dry-run': { type: 'boolean' },
    lookback: { type: 'string' },
    concurrency: { type: 'string' },
    'max-reruns': { type: 'string' },
    source: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return void console.log(usageText(USAGE));
  if (positionals.length) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  const config = loadConfig();
  const lookback = values.lookback ?? config.lateData.lookback;
  if (!isLookback(lookback.trim())) throw new UsageError(`--lookback ${LOOKBACK_RULE}, got "${lookback}"`);
  const concurrency = intOption(values.concurrency, 'concurrency', config.lateData.concurrency, 1);
  if (concurrency > 100) throw new UsageError('--concurrency must be at most 100');
  const maxReruns = intOption(values['max-reruns'], 'max-reruns', MAX_RERUNS_PER_CYCLE, 1);
  if (maxReruns > 10_000) throw new UsageError('--max-reruns must be at most 10000');
  const input = {
    // The re-runs do what the hourly runs do (the schedule's input): the configured load modes, retry budget, ...
    ...lateDataWatcherInput(config.lateData, config.deployment, {
      ...configuredRunInput(config),
      ...(values.source ? { source: values.source } : {}),
    }),
    lookback: lookback.trim(),
    concurrency,
    ...(values['max-reruns'] !== undefined ? { maxReruns } : {}),
    ...(values['dry-run'] ? { dryRun: true } : {}),
  };
  const { client, connection } = await connectClient();
  try {
    const workflowId = `${config.lateData.scheduleId}-now-${new Date().toISOString()}`;
    let result: LateDataWatcherResult;
    // Ctrl-C (or SIGTERM) stops waiting, not the cycle: the worker carries it out all the same.
    const stopListening = sayOnInterrupt(
      () =>
        `stopped waiting; late-data cycle ${workflowId} goes on (the worker carries it out). See it with: ` +
        `temporal workflow show --workflow-id ${workflowId}; stop it with: temporal workflow cancel --workflow-id ${workflowId}`,
    );
    try {
      result = await client.workflow.execute('LateDataWatcher', {
        workflowId,
        taskQueue: config.taskQueue,
        args: [input],
      });
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        // A step's failure arrives wrapped ("Activity task failed"): print the step and its cause.
        const cause =
          err.cause instanceof ActivityFailure
            ? `${err.cause.activityType}: ${err.cause.cause?.message ?? err.cause.message}`
            : (err.cause?.message ?? err.message);
        console.error(`late-data cycle ${workflowId} failed: ${cause}`);
        return 1;
      }
      throw err;
    } finally {
      stopListening();
    }
    console.log(formatCycle(result));
    return result.reruns.some((r) => r.outcome === 'failed') ? 1 : 0;
  } finally {
    await connection.close();
  }
});
