import {
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { LateDataConfig, ScheduleConfig } from './config';
import { DEFAULT_DEPLOYMENT, HOUR_MS } from './interval';
import { printable } from './printable';
import { loadModeNote, type SparkifyEtlInput } from './types';
import { redactUrl } from './warehouse/pool';
import type { LateDataWatcherInput } from './workflows/late-data-watcher';

/**
 * The hourly Temporal Schedule that replaces Airflow's `schedule_interval='@hourly'`.
 *
 * Each action starts SparkifyEtl with no interval in its input; the run reads its scheduled time T from the
 * TemporalScheduledStartTime search attribute and loads [T - 1h, T). Temporal names the run
 * `<deployment>-<T>`, e.g. `sparkify-etl-2018-11-01T14:00:00Z` for the 13:00-14:00 hour: the id workflowIdFor
 * gives that hour, so `etl` and `backfill` find the scheduled run of an hour and the schedule finds theirs.
 */
export interface ScheduleSettings extends ScheduleConfig {
  taskQueue: string;
  /** Passed to every run: source, load modes, checks... never an interval, never a secret. */
  input?: Omit<SparkifyEtlInput, 'start' | 'end'>;
  /** SPARKIFY_DEPLOYMENT: the action's workflow id, to which Temporal appends the scheduled time. */
  deployment?: string;
}

/**
 * Like Airflow's start_date and end_date, SCHEDULE_START and SCHEDULE_END bound the data: the first run loads
 * the hour that begins at the start, so it is scheduled one hour after it; the last run loads the hour that
 * ends at the end.
 */
export function scheduledTimeRange(s: Pick<ScheduleConfig, 'startAt' | 'endAt'>): { first?: Date; last?: Date } {
  return {
    ...(s.startAt ? { first: new Date(Date.parse(s.startAt) + HOUR_MS) } : {}),
    ...(s.endAt ? { last: new Date(s.endAt) } : {}),
  };
}

function scheduleOptions(s: ScheduleSettings): Omit<ScheduleOptions, 'scheduleId' | 'state'> {
  const { first, last } = scheduledTimeRange(s);
  return {
    spec: {
      intervals: [{ every: '1h', offset: `${s.minute}m` }],
      ...(first ? { startAt: first } : {}),
      ...(last ? { endAt: last } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'SparkifyEtl',
      workflowId: s.deployment ?? DEFAULT_DEPLOYMENT,
      taskQueue: s.taskQueue,
      args: [s.input ?? {}],
    },
    policies: { overlap: s.overlap, catchupWindow: s.catchupWindow as Duration },
  };
}

/** The SCHEDULE_START a schedule was given (its first scheduled time is an hour later: scheduledTimeRange). */
export function scheduleStart(d: Pick<ScheduleDescription, 'spec'>): string | undefined {
  return d.spec.startAt ? new Date(d.spec.startAt.getTime() - HOUR_MS).toISOString() : undefined;
}

/** An `up` whose start would not be before the end the schedule keeps (or the other way round). */
export class ScheduleSpanError extends Error {}

/**
 * Why a spec whose start is before its end would still never start a run, or undefined: its first scheduled
 * time (the start's hour ends, at the schedule's minute) comes after its end, e.g. a start at 10:00 and an end at
 * 10:30, or at 11:00 with runs at :15. `kept` says which of the two the schedule kept, for the message.
 */
function neverRuns(
  spec: { startAt?: Date; endAt?: Date },
  minute: number,
  kept: { start: boolean; end: boolean },
): string | undefined {
  if (!spec.startAt || !spec.endAt) return undefined;
  const offset = minute * 60_000;
  const first = new Date(Math.ceil((spec.startAt.getTime() - offset) / HOUR_MS) * HOUR_MS + offset);
  if (first <= spec.endAt) return undefined;
  const start = new Date(spec.startAt.getTime() - HOUR_MS).toISOString();
  const mm = String(minute).padStart(2, '0');
  return (
    `no run would ever start between the start ${start}${kept.start ? ' (kept)' : ''} and the end ` +
    `${spec.endAt.toISOString()}${kept.end ? ' (kept)' : ''}: the first would start at ${first.toISOString()} ` +
    `(runs start at :${mm}, after the hour they load); give an end at or after it (SCHEDULE_END or --end), ` +
    'or remove the end with --end none'
  );
}

/**
 * Creates the schedule, or updates it in place to the given settings: running it twice leaves one schedule
 * with the second call's spec. Its paused state is kept on update, and so are its start and its end when the
 * settings name none: an `up` without SCHEDULE_START or SCHEDULE_END (a shell that does not have them,
 * `npm run schedule -- up --minute 5`) must not turn a schedule that loads a given span of hours into one
 * without a start or an end. An end is removed only when asked (endAt null: SCHEDULE_END=none, `--end none`).
 * A kept start or end that leaves no hour between them is refused (ScheduleSpanError), nothing changed, and so
 * is a span in which no run would start (neverRuns).
 */
export async function upsertSchedule(client: Client, s: ScheduleSettings): Promise<'created' | 'updated'> {
  const options = scheduleOptions(s);
  const handle = client.schedule.getHandle(s.id);
  try {
    await handle.update((previous) => {
      const spec = {
        ...options.spec,
        ...(!s.startAt && previous.spec.startAt ? { startAt: previous.spec.startAt } : {}),
        ...(s.endAt === undefined && previous.spec.endAt ? { endAt: previous.spec.endAt } : {}),
      };
      const start = spec.startAt ? new Date(spec.startAt.getTime() - HOUR_MS).toISOString() : undefined;
      if (start && spec.endAt && Date.parse(start) >= spec.endAt.getTime()) {
        const end = spec.endAt.toISOString();
        throw new ScheduleSpanError(
          s.startAt
            ? `the start ${start} is not before the end the schedule keeps (${end}): give an end after it ` +
                '(SCHEDULE_END or --end), or remove the end with --end none'
            : `the end ${end} is not after the start the schedule keeps (${start}): give a start before it ` +
                '(SCHEDULE_START or --start)',
        );
      }
      const never = neverRuns(spec, s.minute, { start: !s.startAt, end: s.endAt === undefined });
      if (never) throw new ScheduleSpanError(never);
      return { ...previous, ...options, spec, state: previous.state };
    });
    return 'updated';
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  const never = neverRuns(options.spec, s.minute, { start: false, end: false });
  if (never) throw new ScheduleSpanError(never);
  await client.schedule.create({
    scheduleId: s.id,
    ...options,
    state: { note: 'created by sparkify (schedule up, or start)' },
  });
  return 'created';
}

/** What the late-data watcher's schedule starts: a LateDataWatcher cycle with the hourly runs' input. */
export function lateDataWatcherInput(
  late: LateDataConfig,
  deployment: string,
  runInput: LateDataWatcherInput['runInput'] = {},
): LateDataWatcherInput {
  return { deployment, lookback: late.lookback, concurrency: late.concurrency, runInput };
}

/**
 * The late-data watcher's own schedule (`<deployment>-late-data`, every LATE_DATA_EVERY): created or updated
 * to the settings, or deleted when LATE_DATA_EVERY is 0 / off. A cycle due while the last one still runs is
 * skipped, and none is made up after an outage (the next cycle looks at the whole lookback anyway).
 */
export async function upsertLateDataSchedule(
  client: Client,
  late: LateDataConfig,
  taskQueue: string,
  input: LateDataWatcherInput,
): Promise<'created' | 'updated' | 'deleted' | 'off'> {
  const handle = client.schedule.getHandle(late.scheduleId);
  if (!late.every) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return 'off';
      throw err;
    }
  }
  const options: Omit<ScheduleOptions, 'scheduleId' | 'state'> = {
    spec: { intervals: [{ every: late.every as Duration }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'LateDataWatcher',
      workflowId: late.scheduleId,
      taskQueue,
      args: [input],
    },
    policies: { overlap: 'SKIP', catchupWindow: '1m' },
  };
  try {
    await handle.update((previous) => ({ ...previous, ...options, state: previous.state }));
    return 'updated';
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  await client.schedule.create({
    scheduleId: late.scheduleId,
    ...options,
    state: { note: 'created by sparkify (schedule up, or start)' },
  });
  return 'created';
}

/** What `npm run schedule -- up` and `npm start` print about the late-data watcher's schedule. */
export function lateDataScheduleLine(late: LateDataConfig, outcome: 'created' | 'updated' | 'deleted' | 'off'): string {
  return outcome === 'created' || outcome === 'updated'
    ? `${outcome} schedule ${late.scheduleId} (late-data watcher every ${late.every}, lookback ${late.lookback})`
    : `late-data watcher off (LATE_DATA_EVERY=0)${outcome === 'deleted' ? `: deleted schedule ${late.scheduleId}` : ''}`;
}

/**
 * Airflow's catchup=True: runs every scheduled time in [from, to] (default: from the first scheduled time up to
 * now, or the last scheduled time if earlier). Returns the range asked for and the number of runs in it.
 */
export async function catchUp(
  client: Client,
  s: ScheduleSettings,
  now: Date,
  range: { from?: Date; to?: Date } = {},
): Promise<{ from: Date; to: Date; runs: number } | null> {
  const { first, last } = scheduledTimeRange(s);
  const from = range.from ?? first;
  if (!from) throw new Error('catch-up needs a start: set SCHEDULE_START or pass --start');
  let to = range.to ?? now;
  if (last && last < to) to = last;
  if (to < from) return null;
  // Backfill evaluates the spec over [start, end], both ends included (seen on the dev server).
  await client.schedule.getHandle(s.id).backfill([{ start: from, end: to, overlap: s.overlap }]);
  const firstHour = Math.ceil((from.getTime() - s.minute * 60_000) / HOUR_MS);
  const lastHour = Math.floor((to.getTime() - s.minute * 60_000) / HOUR_MS);
  return { from, to, runs: Math.max(0, lastHour - firstHour + 1) };
}

/** How the run an action started stands: its status (`completed`, `running`, ...) and when it closed. */
export interface ActionStatus {
  status: string;
  closedAt?: Date;
}

/**
 * How the run of a schedule's most recent action stands, read from the run itself: the status a schedule's
 * description keeps of its actions (startWorkflowStatus) is the one at the start, `running`, long after the run
 * completed (seen on the dev server), so it is not shown.
 */
export async function lastActionStatus(client: Client, d: ScheduleDescription): Promise<ActionStatus | undefined> {
  const last = d.info.recentActions.at(-1);
  if (!last) return undefined;
  try {
    const run = await client.workflow.getHandle(last.action.workflow.workflowId).describe();
    return {
      status: run.status.name.toLowerCase().replaceAll('_', ' '),
      ...(run.closeTime ? { closedAt: run.closeTime } : {}),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { status: 'no longer kept by the server (retention)' };
    throw err;
  }
}

export function describeSchedule(d: ScheduleDescription, lastCycle?: ActionStatus): string {
  const spec = d.spec;
  const action = d.action.type === 'startWorkflow' ? d.action : undefined;
  const hourly = action?.workflowType === 'SparkifyEtl';
  const watcher = action?.workflowType === 'LateDataWatcher';
  const start = hourly ? scheduleStart(d) : spec.startAt?.toISOString();
  const lines = [
    `schedule ${d.scheduleId}: ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
    `  runs: ${(spec.intervals ?? []).map(everyText).join(', ') || JSON.stringify(spec)}`,
    `  start: ${start ?? '-'}  end: ${spec.endAt?.toISOString() ?? '-'}`,
  ];
  const first = hourly ? firstActionTime(spec) : undefined;
  if (first) lines.push(`  first run at: ${first.toISOString()} (it loads the hour that begins at the start)`);
  if (action) {
    // As the server holds it: a schedule made elsewhere may give any JSON (a string, a list, a deep nest).
    const given: unknown = action.args?.[0] ?? {};
    const input = fieldsOf(given);
    lines.push(
      `  each ${watcher ? 'cycle' : 'run'}: ${action.workflowType} on task queue ${action.taskQueue}, ` +
        `workflow id ${action.workflowId}-<scheduled time>`,
    );
    if (!input) {
      lines.push(`  input: ${shownValue('', given)} (not an object)`);
    } else if (watcher) {
      const { runInput, ...own } = input;
      lines.push(`  input: ${inputText(own)}`);
      lines.push(`  its re-runs' input: ${runInputText(runInput ?? {})}`);
    } else {
      lines.push(`  input: ${hourly ? runInputText(input) : inputText(input)}`);
    }
  }
  lines.push(
    `  overlap: ${d.policies.overlap}  catch-up window ${durationText(d.policies.catchupWindow)}`,
    `  actions taken: ${d.info.numActionsTaken}  running: ${d.info.runningActions.length}`,
    `  next: ${
      d.info.nextActionTimes
        .slice(0, 3)
        .map((t) => t.toISOString())
        .join(', ') || '-'
    }`,
  );
  const recent = d.info.recentActions;
  if (watcher) {
    const last = recent.at(-1);
    const closed = lastCycle?.closedAt ? ` ${lastCycle.closedAt.toISOString()}` : '';
    lines.push(
      last
        ? `  last cycle: started ${last.takenAt.toISOString()}, ${lastCycle ? `${lastCycle.status}${closed}` : 'status not read'}` +
            ` (${last.action.workflow.workflowId})`
        : '  last cycle: none yet',
    );
  }
  if (recent.length) {
    lines.push('  recent:');
    for (const a of recent.slice(-5)) {
      lines.push(`    ${a.scheduledAt.toISOString()} -> ${a.action.workflow.workflowId}`);
    }
  }
  // Names, notes and inputs come from whoever made the schedule: no control character reaches the terminal.
  return lines.map(printable).join('\n');
}

/** The first time the spec's interval matches at or after its startAt: the schedule's first action. */
function firstActionTime(spec: ScheduleDescription['spec']): Date | undefined {
  const interval = spec.intervals?.[0];
  if (!spec.startAt || !interval || spec.intervals!.length > 1) return undefined;
  const offset = interval.offset ?? 0;
  const n = Math.ceil((spec.startAt.getTime() - offset) / interval.every);
  return new Date(n * interval.every + offset);
}

/**
 * Text in an input with its password and secret-like parameters redacted: a URL as a whole (one that does not
 * parse is not shown), or each URL in other text (a reason that names one).
 */
function shownString(v: string): string {
  // A scheme of at most 32 characters: the search stays linear in a long text (a megabyte of letters, say).
  if (/^\s*[a-z][a-z\d+.-]{0,31}:\/\//i.test(v)) return redactUrl(v.trim());
  return v.replace(/[a-z][a-z\d+.-]{0,31}:\/\/[^\s"'<>]+/gi, (url) => redactUrl(url));
}

/** Names of fields never to print the value of, should an input ever carry one. */
const SECRET_FIELD = /pass|secret|token|credential|private|api.?key|access.?key/i;

/** How much of an input is printed: a value's characters, the fields or items of an object or list, its depth. */
const VALUE_MAX = 300;
const FIELDS_MAX = 30;
const DEPTH_MAX = 6;

/** The text, or its first `max` characters then how many there are. */
function clipped(text: string, max = VALUE_MAX): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max).join('')}… (${chars.length} characters)` : text;
}

/** A string of an input, redacted (shownString) and clipped: of a long one, only its start is looked at. */
function shownText(v: string): string {
  const chars = [...v];
  if (chars.length <= VALUE_MAX) return clipped(shownString(v));
  const shown = [...shownString(chars.slice(0, 4 * VALUE_MAX).join(''))].slice(0, VALUE_MAX).join('');
  return `${shown}… (${chars.length} characters)`;
}

/** An object's fields, or undefined for anything else (a list, a string, null). */
function fieldsOf(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** A value as JSON, bounded in depth and breadth (a deep nest would overflow JSON.stringify), secrets redacted. */
function boundedJson(v: unknown, depth = 0): string {
  if (typeof v === 'string') return JSON.stringify(shownText(v));
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? String(v);
  if (depth >= DEPTH_MAX) return Array.isArray(v) ? '[…]' : '{…}';
  const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
  const shown = entries
    .slice(0, FIELDS_MAX)
    .map(([k, x]) =>
      Array.isArray(v)
        ? boundedJson(x, depth + 1)
        : `${JSON.stringify(k)}:${SECRET_FIELD.test(k) ? '"***"' : boundedJson(x, depth + 1)}`,
    );
  if (entries.length > FIELDS_MAX) shown.push('…');
  return Array.isArray(v) ? `[${shown.join(',')}]` : `{${shown.join(',')}}`;
}

function shownValue(key: string, v: unknown): string {
  if (SECRET_FIELD.test(key)) return '***';
  return typeof v === 'string' ? shownText(v) : clipped(boundedJson(v));
}

/** `lookback 30d, concurrency 4`: an input's fields as `name value`, in its order. */
function inputText(input: Record<string, unknown>): string {
  const entries = Object.entries(input);
  const shown = entries.slice(0, FIELDS_MAX).map(([k, v]) => `${clipped(k, 80)} ${shownValue(k, v)}`);
  if (entries.length > FIELDS_MAX) shown.push(`and ${entries.length - FIELDS_MAX} more field(s)`);
  return shown.join(', ') || '{}';
}

/**
 * A SparkifyEtl input (the hourly runs', the watcher's re-runs'): its source first (the worker's SOURCE_URL when
 * it names none), each table's load mode as `time=upsert (replaces the interval's rows)`, then the rest.
 */
function runInputText(given: unknown): string {
  const input = fieldsOf(given);
  if (!input) return `${shownValue('', given)} (not an object)`;
  const { source, loadModes, ...rest } = input;
  const parts = [
    `source ${typeof source === 'string' && source ? shownValue('source', source) : "the worker's SOURCE_URL"}`,
  ];
  const modes = fieldsOf(loadModes);
  if (modes) {
    const entries = Object.entries(modes);
    const shown = entries.slice(0, FIELDS_MAX).map(([table, mode]) => {
      const note = loadModeNote(table, mode);
      return `${clipped(table, 80)}=${shownValue('', mode)}${note ? ` (${note})` : ''}`;
    });
    if (entries.length > FIELDS_MAX) shown.push('…');
    parts.push(`loadModes ${shown.join(' ')}`);
  } else if (loadModes !== undefined) {
    parts.push(`loadModes ${shownValue('loadModes', loadModes)}`);
  }
  if (Object.keys(rest).length) parts.push(inputText(rest));
  return parts.join(', ');
}

/** 90_000 -> `1m30s`, 604_800_000 -> `7d`: durations as SCHEDULE_CATCHUP_WINDOW takes them. */
export function durationText(ms: number): string {
  if (ms === 0) return '0s';
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ];
  let rest = ms;
  let text = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) text += `${n}${unit}`;
    rest -= n * size;
  }
  return text;
}

/** An interval spec as a person says it: `hourly at :00`, `every 30m at +5m`. */
function everyText(i: { every: number; offset?: number }): string {
  const offset = i.offset ?? 0;
  if (i.every === HOUR_MS && offset < HOUR_MS)
    return `hourly at :${String(Math.round(offset / 60_000)).padStart(2, '0')}`;
  return `every ${durationText(i.every)}${offset ? ` at +${durationText(offset)}` : ''}`;
}
