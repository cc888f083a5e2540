import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import { loadConfig } from '../config';
import { parseDuration } from '../input';
import { configuredRunInput } from '../run-input';
import { lateDataWatcherInput } from '../schedule';
import { connectClient } from '../temporal';
import type { LateDataWatcherResult } from '../workflows/late-data-watcher';
import { defineCommand, intOption, parseCommandLine, UsageError, usageText } from './args';

const USAGE = `usage: npm run late -- [--dry-run] [--lookback DUR] [--concurrency N] [--source URL]

Runs one cycle of the late-data watcher now (the worker runs it, as its schedule does every LATE_DATA_EVERY):
brings the source index up to date (reading only new or changed event files), finds the loaded hours of the
lookback whose feeding files changed, were added or were removed since their last run read them, re-runs each
under the hour's own workflow id with its reason, and prints what it re-ran and why.
Exit codes: 0 every re-run succeeded (or nothing to do); 1 a re-run failed; 2 usage or configuration.

options:
  --dry-run          print what would be re-run and why; re-run nothing (the index is still brought up to date)
  --lookback DUR     how far back hours may be re-run, e.g. 48h or 30d (default LATE_DATA_LOOKBACK)
  --concurrency N    re-runs at once (default LATE_DATA_CONCURRENCY)
  --source URL       the source whose files to look at (default: the worker's SOURCE_URL, as the hourly runs)`;

const hour = (iso: string) => `${iso.slice(0, 13)}:00Z`;

/** What a cycle did, as the command prints it. */
function formatCycle(r: LateDataWatcherResult): string {
  const lines = [
    `source ${r.index.location}: ${r.index.files} event file(s); ${r.index.indexed} read for the index (new or changed), ${r.index.removed} gone`,
    ...r.index.named.map((n) => `  ${n}`),
    `hours ${hour(r.from)} .. ${hour(r.to)}`,
  ];
  if (r.reruns.length === 0) {
    lines.push('nothing to re-run: every loaded hour read what its files hold now');
    return lines.join('\n');
  }
  lines.push(r.dryRun ? `dry run: would re-run ${r.reruns.length} hour(s):` : `re-ran ${r.reruns.length} hour(s):`);
  for (const x of r.reruns) {
    const outcome = r.dryRun ? '' : `  ${x.outcome}${x.error ? `: ${x.error}` : ''}`;
    lines.push(`  ${hour(x.start)}  ${x.workflowId}${outcome}  (${x.reason})`);
  }
  return lines.join('\n');
}

export const command = defineCommand(module, USAGE, async () => {
  const { values, positionals } = parseCommandLine({
    'dry-run': { type: 'boolean' },
    lookback: { type: 'string' },
    concurrency: { type: 'string' },
    source: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return void console.log(usageText(USAGE));
  if (positionals.length) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  const config = loadConfig();
  const lookback = values.lookback ?? config.lateData.lookback;
  if (!((parseDuration(lookback) ?? 0) >= 3_600_000) || !/^\d+(m|h|d)$/.test(lookback.trim())) {
    throw new UsageError(`--lookback must be a duration of at least 1h such as 48h or 30d, got "${lookback}"`);
  }
  const concurrency = intOption(values.concurrency, '--concurrency', config.lateData.concurrency, 1);
  if (concurrency > 100) throw new UsageError('--concurrency must be at most 100');
  const input = {
    // The re-runs do what the hourly runs do (the schedule's input): the configured load modes, retry budget, ...
    ...lateDataWatcherInput(config.lateData, config.deployment, {
      ...configuredRunInput(config),
      ...(values.source ? { source: values.source } : {}),
    }),
    lookback: lookback.trim(),
    concurrency,
    ...(values['dry-run'] ? { dryRun: true } : {}),
  };
  const { client, connection } = await connectClient();
  try {
    const workflowId = `${config.lateData.scheduleId}-now-${new Date().toISOString()}`;
    let result: LateDataWatcherResult;
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
    }
    console.log(formatCycle(result));
    return result.reruns.some((r) => r.outcome === 'failed') ? 1 : 0;
  } finally {
    await connection.close();
  }
});
