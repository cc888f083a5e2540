import type { WorkflowExecutionDescription } from '@temporalio/client';
// From @temporalio/common, not the client's index (which re-exports them): see connectWorkflows.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { loadConfig } from '../config';
import { DEFAULT_RETRY_BUDGET, inputProblems, MAX_RUN_HOURS } from '../input';
import { workflowIdFor } from '../interval';
import { intervalSearchAttributes } from '../search-attributes';
import { badDataHint, badLinesListing, inputDifferences, sameSource, waitForOutcome, watchRetries } from '../outcome';
import { configuredRunInput } from '../run-input';
import { connectWorkflows, type WorkflowsClient } from '../temporal';
import { parseLoadModes, type LoadModes, type SparkifyEtlInput } from '../types';
import {
  commandLine,
  defineCommand,
  intervalOption,
  intOption,
  parseCommandLine,
  RefusedError,
  sayOnInterrupt,
  timeArgument,
  UsageError,
  usageText,
  workerCommand,
} from './args';
import { TIME_HELP } from './times';
import { formatSummary } from './format';

const USAGE = `usage: npm run etl -- --from TIME --to TIME [options]

Runs SparkifyEtl for the interval [from, to) and waits for it, printing the summary.
${TIME_HELP}.
One run loads at most ${MAX_RUN_HOURS} hours (longer: backfill). Example: npm run etl -- --from yesterday --to yesterday+1h
The workflow id is derived from the interval (an hour's is the id the schedule gives its run of that hour): if a
run of the same interval is in progress, scheduled or not, the command attaches to it and says so, or refuses
when that run's input differs from this one's (the difference is named). A finished run is run again.
While a step retries, each failed attempt is printed with its cause and the next attempt's time.
Exit codes: 0 the run succeeded; 1 it failed (its failure is printed); 2 usage, configuration or refused.

options:
  --source URL          folder or file:// URL of log_data/ and song_data/ (default: the worker's SOURCE_URL)
  --mode TABLE=MODE     load mode per table, repeatable (songplays: replace|truncate-insert|append;
                        users, songs, artists, time: upsert|truncate-insert|append; time's upsert replaces
                        the interval's rows, as songplays' replace does)
  --max-errors N        bad source lines to tolerate (kept in load_errors); default 0. With more, the
                        run fails naming the first and counting all of them
  --missing fail|warn   what a missing event day file means; default warn
  --retry-budget DUR    how long a step retries what can heal (refused connection, deadlock...); default
                        RETRY_BUDGET or ${DEFAULT_RETRY_BUDGET}, e.g. 30s, 10m, 2h
  --allow-incomplete    load an interval that ends in the future (a partial hour); refused otherwise
  --check NAME          also run the custom check NAME (a file of the worker's checks/ or CHECKS_DIR), repeatable
  --no-wait             start the run and print its id without waiting`;

export const command = defineCommand(module, USAGE, async () => {
  const { values, positionals } = parseCommandLine({
    from: { type: 'string' },
    to: { type: 'string' },
    source: { type: 'string' },
    mode: { type: 'string', multiple: true },
    'max-errors': { type: 'string' },
    missing: { type: 'string' },
    'retry-budget': { type: 'string' },
    'allow-incomplete': { type: 'boolean' },
    check: { type: 'string', multiple: true },
    'no-wait': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return void console.log(usageText(USAGE));
  if (positionals.length) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  const interval = intervalOption(values.from, values.to);
  const config = loadConfig();
  const parsed = parseLoadModes(values.mode ?? []);
  if (parsed.problems.length) throw new UsageError(parsed.problems.map((p) => `--mode: ${p}`).join('\n       '));
  const configured = configuredRunInput(config);
  const loadModes: LoadModes = { ...configured.loadModes, ...parsed.modes };
  if (values.missing && values.missing !== 'fail' && values.missing !== 'warn') {
    throw new UsageError(`--missing must be fail or warn, got "${values.missing}"`);
  }
  const retryBudget = values['retry-budget'] ?? configured.retryBudget;
  const checks = (values.check ?? []).map((name) => ({ name }));
  const input: SparkifyEtlInput = {
    start: interval.start,
    end: interval.end,
    loadModes,
    maxErrors: intOption(values['max-errors'], 'max-errors', 0),
    ...(values.source ? { source: values.source } : {}),
    onMissingFile: (values.missing as 'fail' | 'warn' | undefined) ?? configured.onMissingFile,
    retryBudget,
    ...(values['allow-incomplete'] ? { allowIncomplete: true } : {}),
    ...(checks.length ? { checks } : {}),
  };
  // The workflow refuses the same inputs; refusing here starts nothing and names the option.
  const problems = inputProblems(input, { runStartMs: Date.now() });
  if (problems.length) throw new UsageError(problems.map(asOptions).join('\n       '));

  const { client, connection } = await connectWorkflows();
  try {
    const workflowId = workflowIdFor(interval, config.deployment);
    const run = await startOrAttach(client, workflowId, input, config.taskQueue);
    if (values['no-wait']) return 0;
    // Just started, the run has no retry to report yet: the first look waits a second, as the later ones do, so
    // that a quick run is not slowed by a describe call at its start.
    let stopWatching = () => {};
    const watching = setTimeout(() => {
      stopWatching = watchRetries(client, workflowId, run.runId, (line) => console.error(line), {
        // The setting that matters is the deployment: a worker of another one refuses the run's steps.
        workerHint: (queue) =>
          `${workerCommand()} with SPARKIFY_DEPLOYMENT=${config.deployment}` +
          (queue === config.deployment ? '' : ` and TASK_QUEUE=${queue}`),
      });
    }, 1_000);
    // Ctrl-C (or SIGTERM) stops waiting, not the run: say so, and how to see it again.
    sayOnInterrupt(
      () =>
        `stopped waiting; run ${run.runId} of ${workflowId} goes on. Run the same command again to attach to it, ` +
        `or stop it with: temporal workflow cancel --workflow-id ${workflowId}`,
    );
    const waiting = waitForOutcome(client, workflowId, run.runId, {
      onReconnect: (m) => console.error(`lost the connection to Temporal (${m.split('\n')[0]}); reconnecting`),
    });
    const outcome = await waiting.finally(() => {
      clearTimeout(watching);
      stopWatching();
    });
    const whose = run.attached ? ' (the run this command attached to)' : '';
    if (outcome.status === 'completed') {
      console.log(formatSummary(outcome.result));
      return 0;
    }
    if (outcome.status === 'failed') {
      console.error(`${workflowId} failed${whose}: ${outcome.error}`);
      if (outcome.badData) {
        const { tooMany } = outcome.badData;
        if (tooMany) for (const line of badLinesListing(tooMany)) console.error(line);
        const hint = badDataHint({
          watched: !values.source || sameSource(values.source, config.sourceUrl),
          again: sameCommand(values, interval),
          maxErrors: input.maxErrors ?? 0,
          ...(tooMany ? { found: tooMany.badLines } : {}),
        });
        for (const line of hint) console.error(line);
      }
      return 1;
    }
    console.error(`${workflowId}: outcome unknown${whose}: ${outcome.error}`);
    return 1;
  } finally {
    await connection.close();
  }
});

/**
 * This command as given, to print for running it again: the interval as it was resolved (`--from yesterday`
 * names another hour tomorrow) and every option that changes what the run does.
 */
function sameCommand(
  values: {
    source?: string;
    mode?: string[];
    'max-errors'?: string;
    missing?: string;
    'retry-budget'?: string;
    'allow-incomplete'?: boolean;
    check?: string[];
  },
  interval: { start: string; end: string },
): string | undefined {
  const args = ['--from', timeArgument(interval.start), '--to', timeArgument(interval.end)];
  if (values.source) args.push('--source', values.source);
  for (const mode of values.mode ?? []) args.push('--mode', mode);
  for (const name of ['max-errors', 'missing', 'retry-budget'] as const) {
    const value = values[name];
    if (value !== undefined) args.push(`--${name}`, value);
  }
  if (values['allow-incomplete']) args.push('--allow-incomplete');
  for (const check of values.check ?? []) args.push('--check', check);
  return commandLine('etl', args);
}

/** The input's field names as this command's options, in a problem line. */
function asOptions(problem: string): string {
  return problem
    .replace(/^start, end: /, '--from/--to: ')
    .replace(
      /^end: (.*)pass allowIncomplete: true \(npm run etl --allow-incomplete\)/,
      '--to: $1pass --allow-incomplete',
    )
    .replace(/^maxErrors: /, '--max-errors: ')
    .replace(/^retryBudget: /, '--retry-budget: ')
    .replace(/^loadModes\./, '--mode ')
    .replace(/^checks/, '--check: checks');
}

/**
 * Starts the interval's run, or attaches to the one in progress when its input is the same as this one's.
 * Attaching to a run that loads differently would report its outcome as this command's: refused instead.
 */
async function startOrAttach(
  client: WorkflowsClient,
  workflowId: string,
  input: SparkifyEtlInput,
  taskQueue: string,
): Promise<{ runId: string; attached: boolean }> {
  const running = async (): Promise<WorkflowExecutionDescription | undefined> => {
    try {
      const d = await client.workflow.getHandle(workflowId).describe();
      return d.status.name === 'RUNNING' ? d : undefined;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };
  // Start first: the start fails (FAIL) only while a run of this id is in progress, so the usual case, no run
  // in progress, takes one call to the server; the run in progress is looked at only when there is one.
  let other: WorkflowExecutionDescription | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const handle = await client.workflow.start('SparkifyEtl', {
        taskQueue,
        workflowId,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        typedSearchAttributes: intervalSearchAttributes({ start: input.start!, end: input.end! }),
      });
      console.log(`started ${workflowId} (run ${handle.firstExecutionRunId}) on task queue ${taskQueue}`);
      return { runId: handle.firstExecutionRunId, attached: false };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      other = await running();
      if (other) break;
      if (attempt === 2) throw err; // it ended between the two calls, twice
    }
  }
  const differences = await inputDifferences(client, workflowId, other, input, taskQueue);
  const started = other.startTime.toISOString();
  if (differences.length) {
    throw new RefusedError(
      `refused: run ${other.runId} of ${workflowId} (started ${started}) is in progress with a different ` +
        `input: ${differences.join('; ')}. Wait for it to finish and run again, or stop it: ` +
        `temporal workflow cancel --workflow-id ${workflowId} (it cleans up; needs a worker on task queue ` +
        `${other.taskQueue}), or temporal workflow terminate --workflow-id ${workflowId} when none runs.`,
    );
  }
  console.log(
    `attached to run ${other.runId} of ${workflowId}, started at ${started} (already in progress with the same input)`,
  );
  return { runId: other.runId, attached: true };
}
