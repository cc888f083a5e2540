import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { MAX_REASON_LENGTH } from './input';
import { printable } from './printable';
import { HOUR_MS, hoursIn, intervalOfWorkflowId, toMs, type Interval } from './interval';
import { MISSING_DAY_FILE as MISSING, type Dialect } from './warehouse/dialect';

/**
 * The state of every hour of a range, Airflow's grid view: from etl_runs (what finished, one query) and
 * Temporal's visibility (what is running, one list), never one lookup per hour.
 *
 * - loaded: the latest finished run of the hour succeeded and staged events;
 * - empty: it succeeded with no events in the hour;
 * - missing_file: it succeeded, but the hour's day file was not in the source when it ran (onMissingFile warn):
 *   what it loaded (usually nothing) is not the hour's data. Named in `missingFiles`. Not loaded: "loaded
 *   through" stops before it. The file's arrival makes the hour stale (`... added`), and the watcher re-runs it;
 * - failed: it failed (a step, or its checks), with its one-line cause;
 * - running: a run of the hour is in progress (it wins over what an earlier run left);
 * - stale: loaded (or empty), but the source index now holds other lines for the hour than its latest run read
 *   (a late, changed, added or removed event file; docs/data-semantics.md): the late-data watcher re-runs it,
 *   unless its only change is a removed file (it holds such an hour and keeps its rows: staleHours' holdRemovals).
 *   As of the index's last refresh (each run's staging and each watcher cycle refresh it): status reads no file;
 * - missing: no run of the hour has finished or is running.
 */
export type HourState = 'loaded' | 'empty' | 'stale' | 'missing_file' | 'failed' | 'running' | 'missing';
export const HOUR_STATES: readonly HourState[] = [
  'loaded',
  'empty',
  'stale',
  'missing_file',
  'failed',
  'running',
  'missing',
];

export interface HourStatus {
  start: string;
  end: string;
  state: HourState;
  workflowId?: string;
  /** Events staged by the latest finished run (loaded, empty, or failed after staging). */
  events?: number;
  failedStep?: string;
  error?: string;
  /** Why a stale hour is stale: `late data: log_data/2018/11/2018-11-05-events.json changed`. */
  reason?: string;
  /** The day file(s) the latest run of a missing_file hour (or of a stale one, since) did not find in the source. */
  missingFiles?: string[];
}

export interface RangeStatus {
  deployment: string;
  from: string;
  to: string;
  hours: HourStatus[];
  totals: Record<HourState, number>;
  /** End of the latest contiguous run of loaded hours (see latestLoadedRun); null when no hour is loaded. */
  loadedThrough: string | null;
  /** Start of that run: every hour from here to loadedThrough is loaded. */
  loadedSince: string | null;
}

/**
 * States that count as loaded for "loaded through": the hour's latest run succeeded, with events or none. A
 * stale hour counts: its rows are there, and the stale hours are counted (and alerted on) by themselves. A
 * missing_file hour does not: its run succeeded, but without the hour's day file its data is not loaded. Nor
 * does a stale hour whose latest run missed its day file (the file has arrived since, and nothing of it is
 * loaded yet): see isLoaded.
 */
export const LOADED_STATES: ReadonlySet<HourState> = new Set<HourState>(['loaded', 'empty', 'stale']);

/** Whether an hour counts as loaded (LOADED_STATES, less a stale hour whose latest run missed its day file). */
export function isLoaded(h: Pick<HourStatus, 'state' | 'missingFiles'>): boolean {
  return LOADED_STATES.has(h.state) && !(h.state === 'stale' && h.missingFiles?.length);
}

/**
 * "Loaded through": the end of the latest contiguous run of loaded hours. Precisely, with the hours of a range
 * in order and "loaded" meaning a state of LOADED_STATES (an hour whose run succeeded with no events counts):
 * the run is the maximal sequence of consecutive loaded hours that ends with the latest loaded hour of the
 * range; `through` is its end (the end of that latest loaded hour) and `since` its start. A failed, running or
 * missing hour before it ends an earlier run, and does not hold back the later one: it is counted among the
 * failed or missing hours instead. Undefined when no hour of the range is loaded.
 */
export function latestLoadedRun(hours: readonly Pick<HourStatus, 'start' | 'end' | 'state' | 'missingFiles'>[]):
  | {
      since: string;
      through: string;
    }
  | undefined {
  let last = hours.length - 1;
  while (last >= 0 && !isLoaded(hours[last]!)) last--;
  if (last < 0) return undefined;
  let first = last;
  while (first > 0 && isLoaded(hours[first - 1]!)) first--;
  return { since: hours[first]!.start, through: hours[last]!.end };
}

interface RunRow {
  workflow_id: string;
  run_id: string;
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

/** What changed between what a run read and what the index says now: a stale hour's reason, a re-run's. */
export function staleReason(read: Record<string, string>, now: Record<string, string>): string {
  const parts: string[] = [];
  for (const path of [...new Set([...Object.keys(read), ...Object.keys(now)])].sort()) {
    const name = printable(path);
    if (read[path] === now[path]) continue;
    if (!(path in read) || read[path] === MISSING) parts.push(`${name} added`);
    else if (!(path in now) || now[path] === MISSING) parts.push(`${name} removed`);
    else if (read[path] !== now[path]) parts.push(`${name} changed`);
  }
  const text = `late data: ${parts.join(', ')}`;
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 3)}...`;
}

export interface StaleRow {
  total_stale: number;
  failed_unchanged: number;
  total_held: number;
  held_from_ms: string | null;
  held_to_ms: string | null;
  held_files_total: number;
  held_files: string[] | null;
  /** Null on the one row returned when no hour is stale. */
  hour_start_ms: string | null;
  workflow_id: string | null;
  read: Record<string, string> | null;
  now: Record<string, string> | null;
}

export interface StaleHours {
  /** The stale hours (at most `limit`, oldest first) by the hour (ms), with their reasons. */
  hours: Map<number, string>;
  /** Every stale hour of the range, those beyond the limit included. */
  total: number;
  /** Hours whose latest run failed and whose source has not changed since: re-running them cannot help. */
  failedUnchanged: number;
  /** With `holdRemovals`: the loaded hours whose only change is files gone, not among `hours` nor `total`. */
  held?: HeldHours;
}

/** Loaded hours held by the watcher: files they read are gone, nothing else changed (docs/data-semantics.md). */
export interface HeldHours {
  hours: number;
  /** The first and the last held hour's start (ms). */
  fromMs: number;
  toMs: number;
  /** The files gone (the first few, shown escaped) and how many there are in all. */
  files: string[];
  filesTotal: number;
}

/**
 * The stale hours of `range` by the hour (ms) with their reasons, from the source index (one query; no file is
 * read), with how many there are in all and how many failed hours wait for a change. Empty where the warehouse
 * keeps no index (Redshift, for now). With `holdRemovals` (the watcher), loaded hours whose only change is
 * files gone are held: counted in `held`, not returned nor counted as stale (they take no place in `limit`).
 */
export async function staleHours(
  pool: Pool,
  dialect: Dialect,
  deployment: string,
  sourceLocation: string,
  range: Interval,
  limit = Number.MAX_SAFE_INTEGER,
  holdRemovals = false,
): Promise<StaleHours> {
  const stale: StaleHours = { hours: new Map(), total: 0, failedUnchanged: 0 };
  if (!dialect.sourceIndex) return stale;
  const { startMs, endMs } = toMs(range);
  const idPrefix = `${deployment}-`;
  const res = await pool.query<StaleRow>(
    dialect.sourceIndex.staleHours({
      source: sourceLocation,
      fromMs: startMs,
      toMs: endMs,
      limit: Math.min(limit, Math.ceil((endMs - startMs) / HOUR_MS)),
      idPrefix,
      idPrefixEnd: prefixEnd(idPrefix),
      holdRemovals,
    }),
  );
  for (const r of res.rows) {
    stale.total = Number(r.total_stale);
    stale.failedUnchanged = Number(r.failed_unchanged);
    if (Number(r.total_held) > 0) {
      stale.held = {
        hours: Number(r.total_held),
        fromMs: Number(r.held_from_ms),
        toMs: Number(r.held_to_ms),
        files: (r.held_files ?? []).map(printable),
        filesTotal: Number(r.held_files_total),
      };
    }
    if (r.hour_start_ms === null || !r.workflow_id || !intervalOfWorkflowId(r.workflow_id, deployment)) continue;
    stale.hours.set(Number(r.hour_start_ms), staleReason(r.read ?? {}, r.now ?? {}));
  }
  return stale;
}

/** The day files recorded missing, by the hour (ms) and run: `run id -> files`. */
export async function missingFileHours(
  pool: Pool,
  dialect: Dialect,
  deployment: string,
  range: Interval,
): Promise<Map<number, Map<string, string[]>>> {
  const missing = new Map<number, Map<string, string[]>>();
  if (!dialect.sourceIndex) return missing;
  const { startMs, endMs } = toMs(range);
  const idPrefix = `${deployment}-`;
  const res = await pool.query<{ hour_start_ms: string; run_id: string; files: string[] }>(
    dialect.sourceIndex.missingFileHours({ fromMs: startMs, toMs: endMs, idPrefix, idPrefixEnd: prefixEnd(idPrefix) }),
  );
  for (const r of res.rows) {
    const t = Number(r.hour_start_ms);
    const byRun = missing.get(t) ?? new Map<string, string[]>();
    byRun.set(r.run_id, r.files);
    missing.set(t, byRun);
  }
  return missing;
}

export function combine(
  deployment: string,
  range: Interval,
  finished: Map<number, RunRow>,
  running: Map<number, string>,
  stale: Map<number, string> = new Map(),
  missing: Map<number, Map<string, string[]>> = new Map(),
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
      const reason = stale.get(t);
      const missingFiles = missing.get(t)?.get(run.run_id);
      hour = reason
        ? // a stale hour whose latest run missed its day file keeps saying so: it is not loaded (isLoaded)
          { ...h, state: 'stale', workflowId: run.workflow_id, reason, ...(missingFiles ? { missingFiles } : {}) }
        : missingFiles
          ? { ...h, state: 'missing_file', workflowId: run.workflow_id, missingFiles }
          : { ...h, state: events === 0 ? 'empty' : 'loaded', workflowId: run.workflow_id };
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
  const run = latestLoadedRun(hours);
  return {
    deployment,
    from: range.start,
    to: range.end,
    hours,
    totals,
    loadedThrough: run?.through ?? null,
    loadedSince: run?.since ?? null,
  };
}

export async function rangeStatus(
  client: Client,
  pool: Pool,
  dialect: Dialect,
  deployment: string,
  sourceLocation: string,
  range: Interval,
): Promise<RangeStatus> {
  const [finished, running, stale, missing] = await Promise.all([
    finishedHours(pool, dialect, deployment, range),
    runningHours(client, deployment, range),
    staleHours(pool, dialect, deployment, sourceLocation, range),
    missingFileHours(pool, dialect, deployment, range),
  ]);
  return combine(deployment, range, finished, running, stale.hours, missing);
}

const SYMBOL: Record<HourState, string> = {
  loaded: '#',
  empty: '-',
  stale: '~',
  missing_file: '?',
  failed: 'X',
  running: '>',
  missing: '.',
};

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
    `legend: # loaded  - empty (no events)  ~ stale (source changed since the load)` +
      `  ? missing file (its day file was not in the source)  X failed  > running  . missing (no run yet)`,
    `totals: ${HOUR_STATES.map((st) => `${st} ${s.totals[st]}`).join('  ')}  (${s.hours.length} hours)`,
    s.loadedThrough && s.loadedSince
      ? `loaded through ${s.loadedThrough.slice(0, 16)}Z (every hour since ${s.loadedSince.slice(0, 16)}Z)`
      : 'loaded through: no hour of the range is loaded',
  ];
  const failed = s.hours.filter((h) => h.state === 'failed');
  if (failed.length) {
    lines.push('', 'failed hours:');
    for (const h of failed) lines.push(`  ${h.start.slice(0, 13)}h  ${h.workflowId}  ${h.error}`);
  }
  const missingFile = s.hours.filter((h) => h.state === 'missing_file');
  if (missingFile.length) {
    lines.push('', "hours whose day file was missing (loaded without it; the file's arrival re-runs them):");
    for (const h of missingFile) {
      lines.push(
        `  ${h.start.slice(0, 13)}h  ${h.workflowId}  missing: ${(h.missingFiles ?? []).map(printable).join(', ')}`,
      );
    }
  }
  const stale = s.hours.filter((h) => h.state === 'stale');
  if (stale.length) {
    lines.push(
      '',
      'stale hours (the late-data watcher re-runs them, but holds those whose only change is a removed file;' +
        ' npm run late -- --dry-run shows the same):',
    );
    for (const h of stale) lines.push(`  ${h.start.slice(0, 13)}h  ${h.workflowId}  ${h.reason}`);
  }
  return lines.join('\n');
}
