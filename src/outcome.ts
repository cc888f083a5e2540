import type { WorkflowExecutionDescription } from '@temporalio/client';
// From their modules, not the client's index (which re-exports them): etl loads only what it uses (temporal.ts).
import { WorkflowFailedError } from '@temporalio/client/lib/errors';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, defaultPayloadConverter, WorkflowNotFoundError } from '@temporalio/common';
import { BAD_DATA, tooManyBadLinesOf, type TooManyBadLines } from './failures';
import { echo, printable } from './printable';
import { DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_RETRY_BUDGET } from './input';
import type { WorkflowsClient } from './temporal';
import { DEFAULT_LOAD_MODES, type SparkifyEtlInput, type SparkifyEtlResult } from './types';

/**
 * Waiting for a run's real outcome. A lost connection to the Temporal server is not the run's failure: the
 * wait reconnects and reads the outcome again, for as long as `reconnectForMs` of consecutive connection
 * trouble allows (then it says it lost track, never that the run failed).
 */
export type Outcome =
  | { status: 'completed'; result: SparkifyEtlResult }
  | { status: 'failed'; error: string; badData?: BadDataFailure }
  | { status: 'unknown'; error: string };

/** A run's failure on its source's data (a bad line or file, BadData), as the commands say what to do about it. */
export interface BadDataFailure {
  /** The step found more bad lines than maxErrors allows: how many, and the first ones (its failure's details). */
  tooMany?: TooManyBadLines;
}

/** The run's own failure message: the one line the Web UI shows at the top of the failed run. */
export function failureMessage(err: WorkflowFailedError): string {
  return err.cause?.message || err.message;
}

/**
 * What the run's failure says about its source's data, when it failed on it (BadData anywhere in its failure's
 * causes): the step's failure wraps the activity's, whose details say how many bad lines past maxErrors there were.
 */
export function badDataOf(err: WorkflowFailedError): BadDataFailure | undefined {
  let found: BadDataFailure | undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (!(e instanceof ApplicationFailure) || e.type !== BAD_DATA) continue;
    found ??= {};
    const tooMany = tooManyBadLinesOf(e.details?.[0]);
    if (tooMany) return { tooMany };
  }
  return found;
}

/** What the commands know when they say what to do about runs that failed on bad source lines. */
export interface BadDataHintInput {
  /**
   * The runs read the configured SOURCE_URL, the source the late-data watcher watches (no --source, or one
   * naming the same place): the watcher re-runs an hour when its file changes. It never re-runs another source's.
   */
  watched: boolean;
  /** The command that runs them again as they were (printable), for when the watcher does not. */
  again?: string;
  /** --max-errors as given (0: none). */
  maxErrors: number;
  /** The most bad lines a failed run found in all, when one failed on more than maxErrors allows. */
  found?: number;
  /** Whose count `found` is: the run's (etl), or the most an hour's run found (backfill). */
  foundBy?: 'run' | 'hour';
}

/**
 * What to do about runs that failed on bad source lines, for the commands to print under the failure: fix the
 * file (and who runs the hour again then), or set the bad lines aside, with the --max-errors that does it.
 */
export function badDataHint(h: BadDataHintInput): string[] {
  const counted = h.foundBy === 'hour' ? `an hour found ${h.found}` : `the run found ${h.found}`;
  const tolerate =
    h.maxErrors > 0 && h.found
      ? `raise --max-errors from ${h.maxErrors} to ${h.found} (${counted} bad lines) to set them aside in ` +
        'load_errors and load the rest'
      : h.maxErrors > 0
        ? `raise --max-errors above ${h.maxErrors} to set more bad lines aside in load_errors and load the rest`
        : 'run again with --max-errors N to set up to N bad lines aside in load_errors and load the rest';
  if (h.watched) {
    return [
      `what to do: fix the line or file named above (the late-data watcher re-runs the hour when its file changes), or ${tolerate}`,
    ];
  }
  const fix =
    'what to do: fix the line or file named above, then run the same command again (the late-data watcher ' +
    'watches SOURCE_URL only: it does not re-run what read another --source)';
  return h.again ? [`${fix}:`, `  ${h.again}`, `or ${tolerate}`] : [`${fix}, or ${tolerate}`];
}

/** What to do about a run of the configured source that failed on a bad source line or file (--max-errors not given). */
export const BAD_DATA_HINT = badDataHint({ watched: true, maxErrors: 0 })[0]!;

/** How many of a failure's listed bad lines the commands print under it. */
const BAD_LINES_SHOWN = 5;

/** The first bad lines of a failure past maxErrors (its details), for the commands to print under it. */
export function badLinesListing(t: TooManyBadLines, indent = '  '): string[] {
  const shown = t.listed.slice(0, BAD_LINES_SHOWN);
  if (shown.length === 0) return [];
  const head =
    shown.length === t.badLines
      ? `the ${t.badLines} bad lines:`
      : `the first ${shown.length} of the ${t.badLines} bad lines:`;
  return [
    `${indent}${head}`,
    ...shown.map((l) => `${indent}  ${printable(l.file)} line ${l.line}: ${echo(l.reason, 300)}`),
  ];
}

/**
 * Whether the source URL `given` (--source) names the place `configured` (SOURCE_URL) names: a folder, a file://
 * URL or s3://bucket/prefix, however written (relative, with or without the trailing slash).
 */
export function sameSource(given: string, configured: string): boolean {
  const place = (url: string): string => {
    if (/^s3:\/\//i.test(url)) return `s3://${url.slice(5).replace(/\/+$/, '')}`;
    try {
      return path.resolve(/^file:\/\//i.test(url) ? fileURLToPath(url) : url);
    } catch {
      return url; // a file:// URL that names no path: only the same text is the same source
    }
  };
  return place(given) === place(configured);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitForOutcome(
  client: WorkflowsClient,
  workflowId: string,
  runId: string | undefined,
  opts: { reconnectForMs?: number; onReconnect?: (message: string) => void } = {},
): Promise<Outcome> {
  const reconnectForMs = opts.reconnectForMs ?? 10 * 60_000;
  let troubleSince: number | undefined;
  let wait = 500;
  for (;;) {
    try {
      const result = (await client.workflow
        .getHandle(workflowId, runId, { followRuns: true })
        .result()) as SparkifyEtlResult;
      return { status: 'completed', result };
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const badData = badDataOf(err);
        return { status: 'failed', error: failureMessage(err), ...(badData ? { badData } : {}) };
      }
      if (err instanceof WorkflowNotFoundError) return { status: 'unknown', error: `${workflowId}: no such run` };
      const message = (err as Error)?.message ?? String(err);
      troubleSince ??= Date.now();
      if (Date.now() - troubleSince > reconnectForMs) {
        return { status: 'unknown', error: `lost track of the run for ${reconnectForMs / 1000} s: ${message}` };
      }
      opts.onReconnect?.(message);
      await sleep(wait);
      wait = Math.min(wait * 2, 5_000);
    }
  }
}

interface PendingActivity {
  activityId?: string | null;
  activityType?: { name?: string | null } | null;
  attempt?: number | null;
  maximumAttempts?: number | null;
  lastFailure?: { message?: string | null } | null;
  nextAttemptScheduleTime?: { seconds?: unknown; nanos?: number | null } | null;
}

function timeOf(t: PendingActivity['nextAttemptScheduleTime']): string | undefined {
  if (!t?.seconds) return undefined;
  return new Date(Number(t.seconds) * 1000).toISOString().slice(11, 19) + 'Z';
}

/**
 * While a run goes on, reports each retried attempt of its steps once, as Airflow's task log does:
 * `stageEvents: attempt 2 failed: [ECONNREFUSED] ...; retrying at 22:41:05Z (attempt 3 of 24)`.
 * Returns a function that stops watching.
 */
export function watchRetries(
  client: WorkflowsClient,
  workflowId: string,
  runId: string | undefined,
  say: (line: string) => void,
  {
    everyMs = 1_000,
    idleAfterMs = 10_000,
    workerHint = (queue: string) => `a worker with TASK_QUEUE=${queue}`,
  }: {
    everyMs?: number;
    idleAfterMs?: number;
    /** How to start a worker for the run's task queue, as the command names it (`sparkify worker with ...`). */
    workerHint?: (taskQueue: string) => string;
  } = {},
): () => void {
  const seen = new Set<string>();
  const steps = new Map<string, string>();
  let stopped = false;
  let warnedIdle = false;
  const look = async () => {
    while (!stopped) {
      try {
        const d: WorkflowExecutionDescription = await client.workflow.getHandle(workflowId, runId).describe();
        for (const p of (d.raw.pendingActivities ?? []) as PendingActivity[]) {
          const attempt = p.attempt ?? 1;
          const key = `${p.activityId}:${attempt}`;
          if (attempt < 2 || !p.lastFailure?.message || seen.has(key)) continue;
          seen.add(key);
          const of = p.maximumAttempts ? ` of ${p.maximumAttempts}` : '';
          const next = timeOf(p.nextAttemptScheduleTime);
          if (p.activityId && !steps.has(p.activityId)) await readStepNames(client, workflowId, runId, steps);
          const step = (p.activityId && steps.get(p.activityId)) || p.activityType?.name || 'a step';
          say(
            `${step}: attempt ${attempt - 1} failed: ${p.lastFailure.message.split('\n')[0]}` +
              `; retrying${next ? ` at ${next}` : ''} (attempt ${attempt}${of})`,
          );
        }
        if (d.status.name !== 'RUNNING') return;
        // A workflow task waiting long with nobody to take it: no worker polls the run's task queue.
        const wft = d.raw.pendingWorkflowTask as
          { state?: unknown; scheduledTime?: { seconds?: unknown } | null; attempt?: number | null } | null | undefined;
        const since = Number(wft?.scheduledTime?.seconds ?? 0) * 1000;
        const waiting = (wft && String(wft.state ?? '').includes('SCHEDULED')) || wft?.state === 1;
        if (!warnedIdle && waiting && since > 0 && Date.now() - since > idleAfterMs) {
          warnedIdle = true;
          say(
            `no worker has picked up the run for ${Math.round((Date.now() - since) / 1000)} s: is a worker running on ` +
              `task queue "${d.taskQueue}"? (${workerHint(d.taskQueue)})`,
          );
        }
      } catch {
        // the wait for the outcome reports connection trouble; this is only a view of the retries
      }
      await sleep(everyMs);
    }
  };
  void look();
  return () => {
    stopped = true;
  };
}

/**
 * The run's steps by activity id, named as its failure names them (`load songplays`, not `loadTable`): read
 * from the scheduled events in the run's history, whose input says which table a load is for.
 */
async function readStepNames(
  client: WorkflowsClient,
  workflowId: string,
  runId: string | undefined,
  into: Map<string, string>,
): Promise<void> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a?.activityId) continue;
    const type = a.activityType?.name ?? 'a step';
    let table: unknown;
    try {
      const first = a.input?.payloads?.[0];
      table = first ? (defaultPayloadConverter.fromPayload(first) as { table?: unknown } | null)?.table : undefined;
    } catch {
      table = undefined; // an input this view cannot read: the activity's type names the step
    }
    into.set(a.activityId, type === 'loadTable' && typeof table === 'string' ? `load ${table}` : type);
  }
}

/**
 * What a run does, with every default filled in, so two inputs can be compared field by field. A `reason` (the
 * late-data watcher's) changes nothing the run does: it is not compared.
 */
function effective(input: SparkifyEtlInput, taskQueue: string): Record<string, unknown> {
  return {
    'task queue': taskQueue,
    source: input.source || "the worker's SOURCE_URL",
    loadModes: { ...DEFAULT_LOAD_MODES, ...input.loadModes },
    maxErrors: input.maxErrors ?? 0,
    onMissingFile: input.onMissingFile ?? 'warn',
    checks: input.checks ?? [],
    builtinChecks: input.builtinChecks ?? true,
    retryBudget: input.retryBudget ?? DEFAULT_RETRY_BUDGET,
    heartbeatTimeout: input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT,
  };
}

async function inputOf(client: WorkflowsClient, workflowId: string, runId: string): Promise<SparkifyEtlInput> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return (payload ? defaultPayloadConverter.fromPayload(payload) : {}) as SparkifyEtlInput;
}

/**
 * How `input` on `taskQueue` differs from the input of the run `other` in progress, one line per field
 * (`maxErrors is 0 there, 5 here`); empty when joining that run would do what this input asks.
 */
export async function inputDifferences(
  client: WorkflowsClient,
  workflowId: string,
  other: { runId: string; taskQueue: string },
  input: SparkifyEtlInput,
  taskQueue: string,
): Promise<string[]> {
  const theirs = effective(await inputOf(client, workflowId, other.runId), other.taskQueue);
  const ours = effective(input, taskQueue);
  return Object.keys(ours)
    .filter((k) => JSON.stringify(ours[k]) !== JSON.stringify(theirs[k]))
    .map((k) => `${k} is ${JSON.stringify(theirs[k])} there, ${JSON.stringify(ours[k])} here`);
}
