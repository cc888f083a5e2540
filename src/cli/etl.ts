import { WorkflowFailedError } from '@temporalio/client';
import { checkSelectionProblems } from '../check-selection';
import { loadConfig } from '../config';
import { workflowIdFor } from '../interval';
import { connectClient } from '../temporal';
import {
  allowedModes,
  LOAD_MODES,
  TABLES,
  type LoadMode,
  type LoadModes,
  type SparkifyEtlInput,
  type StarTable,
} from '../types';
import { intervalOption, intOption, main, parseCommandLine, UsageError } from './args';
import { formatSummary } from './format';

const USAGE = `usage: npm run etl -- --from TIME --to TIME [options]

Runs SparkifyEtl for the interval [from, to) and waits for it, printing the summary.
TIME is ISO-8601 UTC, e.g. 2018-11-15T13:00Z. The workflow id is derived from the interval, so running the
same interval while it is still running attaches to that run instead of starting a second one.

options:
  --source URL          folder or file:// URL of log_data/ and song_data/ (default: the worker's SOURCE_URL)
  --mode TABLE=MODE     load mode per table, repeatable (songplays: replace|truncate-insert|append;
                        users, songs, artists, time: upsert|truncate-insert|append)
  --max-errors N        bad source lines to tolerate (kept in load_errors); default 0
  --missing fail|warn   what a missing event day file means; default warn
  --check NAME          also run the custom check NAME (a file of the worker's checks/ or CHECKS_DIR), repeatable
  --no-wait             start the run and print its id without waiting`;

main(USAGE, async () => {
  const { values, positionals } = parseCommandLine({
    from: { type: 'string' },
    to: { type: 'string' },
    source: { type: 'string' },
    mode: { type: 'string', multiple: true },
    'max-errors': { type: 'string' },
    missing: { type: 'string' },
    check: { type: 'string', multiple: true },
    'no-wait': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return void console.log(USAGE);
  if (positionals.length) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  const interval = intervalOption(values.from, values.to);
  const config = loadConfig();
  const loadModes: LoadModes = { ...config.loadModes };
  for (const m of values.mode ?? []) {
    const [table, mode] = m.split('=');
    if (!TABLES.includes(table as StarTable) || !LOAD_MODES.includes(mode as LoadMode)) {
      throw new UsageError(
        `--mode ${m}: expected TABLE=MODE with TABLE in ${TABLES.join('|')}, MODE in ${LOAD_MODES.join('|')}`,
      );
    }
    const allowed = allowedModes(table as StarTable);
    if (!allowed.includes(mode as LoadMode)) throw new UsageError(`--mode ${m}: ${table} offers ${allowed.join(', ')}`);
    loadModes[table as StarTable] = mode as LoadMode;
  }
  if (values.missing && values.missing !== 'fail' && values.missing !== 'warn') {
    throw new UsageError(`--missing must be fail or warn, got "${values.missing}"`);
  }
  const checks = (values.check ?? []).map((name) => ({ name }));
  const problems = checkSelectionProblems(checks);
  if (problems.length) throw new UsageError(`--check: ${problems.join('; ')}`);
  const input: SparkifyEtlInput = {
    start: interval.start,
    end: interval.end,
    loadModes,
    maxErrors: intOption(values['max-errors'], 'max-errors', 0),
    ...(values.source ? { source: values.source } : {}),
    ...(values.missing ? { onMissingFile: values.missing as 'fail' | 'warn' } : {}),
    ...(checks.length ? { checks } : {}),
  };

  const { client, connection } = await connectClient();
  try {
    const workflowId = workflowIdFor(interval);
    const handle = await client.workflow.start('SparkifyEtl', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    console.log(`started ${workflowId} (run ${handle.firstExecutionRunId}) on task queue ${config.taskQueue}`);
    if (values['no-wait']) return 0;
    try {
      console.log(formatSummary(await handle.result()));
      return 0;
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        console.error(`${workflowId} failed: ${err.cause?.message ?? err.message}`);
        return 1;
      }
      throw err;
    }
  } finally {
    await connection.close();
  }
});
