import type { WorkflowExecutionDescription } from '@temporalio/client';
// From their modules, not the client's index (which re-exports them): etl loads only what it uses (temporal.ts).
import { WorkflowFailedError } from '@temporalio/client/lib/errors';
import { ApplicationFailure, defaultPayloadConverter, WorkflowNotFoundError } from '@temporalio/common';
import { BAD_DATA } from './failures';
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
  | { status: 'failed'; error: string; badData?: true }
  | { status: 'unknown'; error: string };

/** The run's own failure message: the one line the Web UI shows at the top of the failed run. */
export function failureMessage(err: WorkflowFailedError): string {
  return err.cause?.message || err.message;
}

/** Whether the run failed on its source's data (a bad line or file, BadData), anywhere in its failure's causes. */
export function failedOnBadData(err: WorkflowFailedError): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type === BAD_DATA) return true;
  }
  return false;
}

/** What to do about a run that failed on a bad source line or file, for the commands to print under it. */
export const BAD_DATA_HINT =
  'what to do: fix the line or file named above (the late-data watcher re-runs the hour when its file changes), ' +
  'or run again with --max-errors N to set up to N bad lines aside in load_errors and load the rest';

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
        return { status: 'failed', error: failureMessage(err), ...(failedOnBadData(err) ? { badData: true } : {}) };
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
