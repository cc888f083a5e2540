import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { HOUR_MS, hoursIn, intervalOfWorkflowId, toMs, type Interval } from './interval';
import type { Dialect } from './warehouse/dialect';

/**
 * The state of every hour of a range, Airflow's grid view: from etl_runs (what finished, one query) and
 * Temporal's visibility (what is running, one list), never one lookup per hour.
 *
 * - loaded: the latest finished run of the hour succeeded and staged events;
 * - empty: it succeeded with no events in the hour;
 * - failed: it failed (a step, or its checks), with its one-line cause;
 * - running: a run of the hour is in progress (it wins over what an earlier run left);
 * - missing: no run of the hour has finished or is running.
 * `stale` (the source changed since the load) needs a signal this project does not have yet (the late-data
 * watcher): it is never shown until that lands, rather than guessed.
 */
export type HourState = 'loaded' | 'empty' | 'failed' | 'running' | 'missing';
export const HOUR_STATES: readonly HourState[] = ['loaded', 'empty', 'failed', 'running', 'missing'];

export interface HourStatus {
  start: string;
  end: string;
  state: HourState;
  workflowId?: string;
  /** Events staged by the latest finished run (loaded, empty, or failed after staging). */
  events?: number;
  failedStep?: string;
  error?: string;
}

export interface RangeStatus {
  deployment: string;
  from: string;
  to: string;
  hours: HourStatus[];
  totals: Record<HourState, number>;
  /** End of the hours loaded (or empty) without a gap from the range's start; the start itself when none. */
  loadedThrough: string;
}

interface RunRow {
  workflow_id: string;
  interval_start: string;
  interval_end: string;
  finished_at: string;
  status: string;
  rows: string | null;
  failed_step: string | null;
  error: string | null;
}

const utc = (text: string) => Date.parse(`${text}Z`);

/** The first string after every string that starts with `prefix`: `[prefix, prefixEnd)` is all of them. */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

function stagedEvents(rows: string | null): number | undefined {
  if (!rows) return undefined;
  try {
    const n = (JSON.parse(rows) as Record<string, unknown>).staging_events;
    return typeof n === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The runs of `deployment` in progress, by the hour (ms) they load. One paginated visibility list. */
export async function runningHours(client: Client, deployment: string, range: Interval): Promise<Map<number, string>> {
  const { startMs, endMs } = toMs(range);
  const running = new Map<number, string>();
  const query = `WorkflowType = 'SparkifyEtl' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH '${deployment}-'`;
  for await (const w of client.workflow.list({ query })) {
    const interval = intervalOfWorkflowId(w.workflowId, deployment);
    if (!interval) continue;
    const i = toMs(interval);
    for (let t = Math.max(i.startMs, startMs); t < Math.min(i.endMs, endMs); t += HOUR_MS) running.set(t, w.workflowId);
  }
  return running;
}

/** The latest finished run of each hour of `range`, from etl_runs. */
export async function finishedHours(
  pool: Pool,
  dialect: Dialect,
  deployment: string,
  range: Interval,
): Promise<Map<number, RunRow>> {
  const { startMs, endMs } = toMs(range);
  const bare = (ms: number) => new Date(ms).toISOString().slice(0, 19);
  const idPrefix = `${deployment}-`;
  const res = await pool.query<RunRow>(
    dialect.runsOverlapping({ start: bare(startMs), end: bare(endMs), idPrefix, idPrefixEnd: prefixEnd(idPrefix) }),
  );
  const latest = new Map<number, RunRow>();
  for (const row of res.rows) {
    // Only this deployment's ids: `sparkify` must not take `sparkify-etl`'s runs for its own.
    if (!intervalOfWorkflowId(row.workflow_id, deployment)) continue;
    const from = Math.max(utc(row.interval_start), startMs);
    const to = Math.min(utc(row.interval_end), endMs);
    for (let t = Math.floor(from / HOUR_MS) * HOUR_MS; t < to; t += HOUR_MS) {
      const seen = latest.get(t);
      if (!seen || seen.finished_at <= row.finished_at) latest.set(t, row);
    }
  }
  return latest;
}

export function combine(
  deployment: string,
  range: Interval,
  finished: Map<number, RunRow>,
  running: Map<number, string>,
): RangeStatus {
  const totals = Object.fromEntries(HOUR_STATES.map((s) => [s, 0])) as Record<HourState, number>;
  const hours: HourStatus[] = hoursIn(range).map((h) => {
    const t = Date.parse(h.start);
    const run = finished.get(t);
    const live = running.get(t);
    const events = stagedEvents(run?.rows ?? null);
    let hour: HourStatus;
    if (live) hour = { ...h, state: 'running', workflowId: live };
    else if (!run) hour = { ...h, state: 'missing' };
    else if (run.status === 'succeeded') {
      hour = { ...h, state: events === 0 ? 'empty' : 'loaded', workflowId: run.workflow_id };
    } else {
      hour = {
        ...h,
        state: 'failed',
        workflowId: run.workflow_id,
        failedStep: run.failed_step ?? (run.status === 'failed_checks' ? 'checks' : 'unknown'),
        error: run.error ?? (run.status === 'failed_checks' ? 'checks failed (see etl_runs.checks)' : run.status),
      };
    }
    if (events !== undefined && hour.state !== 'running' && hour.state !== 'missing') hour.events = events;
    totals[hour.state]++;
    return hour;
  });
  let through = toMs(range).startMs;
  for (const h of hours) {
    if (h.state !== 'loaded' && h.state !== 'empty') break;
    through = Date.parse(h.end);
  }
  return {
    deployment,
    from: range.start,
    to: range.end,
    hours,
    totals,
    loadedThrough: new Date(through).toISOString(),
  };
}

export async function rangeStatus(
  client: Client,
  pool: Pool,
  dialect: Dialect,
  deployment: string,
  range: Interval,
): Promise<RangeStatus> {
  const [finished, running] = await Promise.all([
    finishedHours(pool, dialect, deployment, range),
    runningHours(client, deployment, range),
  ]);
  return combine(deployment, range, finished, running);
}

const SYMBOL: Record<HourState, string> = { loaded: '#', empty: '-', failed: 'X', running: '>', missing: '.' };

/** The grid: a row per UTC day, a cell per hour (in groups of six), then the legend, totals and failures. */
export function formatStatus(s: RangeStatus): string {
  const byDay = new Map<string, string[]>();
  for (const h of s.hours) {
    const day = h.start.slice(0, 10);
    const cells = byDay.get(day) ?? Array<string>(24).fill(' ');
    cells[Number(h.start.slice(11, 13))] = SYMBOL[h.state];
    byDay.set(day, cells);
  }
  const group = (cells: string[]) => [0, 6, 12, 18].map((i) => cells.slice(i, i + 6).join('')).join(' ');
  const lines = [
    `${s.deployment}: hours ${s.from.slice(0, 16)}Z .. ${s.to.slice(0, 16)}Z (UTC, each cell the hour's data)`,
    '',
    `${'hour'.padEnd(10)}  00     06     12     18`,
    ...[...byDay].map(([day, cells]) => `${day}  ${group(cells)}`.trimEnd()),
    '',
    `legend: # loaded  - empty (no events)  X failed  > running  . missing (no run yet)`,
    `        stale (source changed since the load) is not tracked yet: it needs the late-data watcher`,
    `totals: ${HOUR_STATES.map((st) => `${st} ${s.totals[st]}`).join('  ')}  (${s.hours.length} hours)`,
    `loaded through ${s.loadedThrough.slice(0, 16)}Z`,
  ];
  const failed = s.hours.filter((h) => h.state === 'failed');
  if (failed.length) {
    lines.push('', 'failed hours:');
    for (const h of failed) lines.push(`  ${h.start.slice(0, 13)}h  ${h.workflowId}  ${h.error}`);
  }
  return lines.join('\n');
}
