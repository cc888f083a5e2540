import {
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import { msToNumber, type Duration } from '@temporalio/common';
import type { LateDataConfig, ScheduleConfig } from './config';
import { DEFAULT_DEPLOYMENT, floorToHour, HOUR_MS, toIso } from './interval';
import { shortIso } from './times';
import type { SparkifyEtlInput } from './types';
import type { LateDataWatcherInput, LateDataWatcherResult } from './workflows/late-data-watcher';

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

const MINUTE_MS = 60_000;

/**
 * Like Airflow's start_date and end_date, SCHEDULE_START and SCHEDULE_END bound the data: the first run loads
 * the hour that begins at the start, so it is scheduled one hour after it (at the schedule's minute); the last
 * run loads the hour that ends at the end, so it is scheduled at the end plus the minute (a run at :15 loads the
 * hour before the one it is in: resolve-interval.ts). Without the minute, a schedule at :15 with an end at 00:00
 * would start its last run at 23:15 and never load 23:00-00:00.
 */
export function scheduledTimeRange(s: Pick<ScheduleConfig, 'startAt' | 'endAt' | 'minute'>): {
  first?: Date;
  last?: Date;
} {
  return {
    ...(s.startAt ? { first: new Date(Date.parse(s.startAt) + HOUR_MS) } : {}),
    ...(s.endAt ? { last: new Date(Date.parse(s.endAt) + s.minute * MINUTE_MS) } : {}),
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
  return d.spec.startAt ? toIso(d.spec.startAt.getTime() - HOUR_MS) : undefined;
}

/**
 * The SCHEDULE_END a schedule was given: its last scheduled time less the minute (scheduledTimeRange), i.e. the
 * hour it is in (an end on a whole hour). A schedule made before the minute was added has its end there already.
 */
export function scheduleEnd(d: Pick<ScheduleDescription, 'spec'>): string | undefined {
  return d.spec.endAt ? toIso(floorToHour(d.spec.endAt.getTime())) : undefined;
}

/**
 * The hourly schedule as `up` sets it, from the schedule's description or from the settings `up` applies: what
 * `up` compares to say what it changed (src/schedule-describe.ts, scheduleChanges).
 */
export interface ScheduleFacts {
  /** The start and the end of the hours loaded (ISO), as SCHEDULE_START and SCHEDULE_END give them. */
  start?: string;
  end?: string;
  /** When the last run is due (the end plus the minute): none after it. */
  lastRunAt?: string;
  /** The minute of the hour the runs start at; undefined for a spec other than hourly. */
  minute?: number;
  taskQueue?: string;
  /**
   * What each run is started with (source, load modes, retry budget...): as the server holds it, so any JSON
   * for a schedule made elsewhere (a string, a list, a deep nest); printed bounded (src/schedule-describe.ts).
   */
  input: unknown;
  overlap: string;
  catchupWindowMs: number;
  paused: boolean;
  note?: string;
}

/** The minute of an hourly spec (`every 1h, offset 15m` -> 15); undefined for any other spec. */
function hourlyMinute(intervals: { every: number; offset?: number }[] | undefined): number | undefined {
  const only = intervals?.length === 1 ? intervals[0] : undefined;
  return only && only.every === HOUR_MS && (only.offset ?? 0) < HOUR_MS
    ? Math.round((only.offset ?? 0) / MINUTE_MS)
    : undefined;
}

/** A schedule's facts, read from its description. */
export function scheduleFacts(d: Pick<ScheduleDescription, 'spec' | 'action' | 'policies' | 'state'>): ScheduleFacts {
  const start = scheduleStart(d);
  const end = scheduleEnd(d);
  const minute = hourlyMinute(d.spec.intervals);
  const action = d.action.type === 'startWorkflow' ? d.action : undefined;
  return {
    ...(start ? { start } : {}),
    ...(end ? { end, lastRunAt: toIso(d.spec.endAt!.getTime()) } : {}),
    ...(minute !== undefined ? { minute } : {}),
    ...(action ? { taskQueue: action.taskQueue } : {}),
    input: action?.args?.[0] ?? {},
    overlap: d.policies.overlap ?? '-',
    catchupWindowMs: d.policies.catchupWindow,
    paused: d.state.paused,
    ...(d.state.note ? { note: d.state.note } : {}),
  };
}

/** The facts of the schedule `up` makes of these settings, the start and the end it keeps in place. */
function settingsFacts(
  s: ScheduleSettings,
  spec: { startAt?: Date; endAt?: Date },
  state: { paused: boolean; note?: string },
): ScheduleFacts {
  return {
    ...(spec.startAt ? { start: toIso(spec.startAt.getTime() - HOUR_MS) } : {}),
    ...(spec.endAt ? { end: toIso(floorToHour(spec.endAt.getTime())), lastRunAt: toIso(spec.endAt.getTime()) } : {}),
    minute: s.minute,
    taskQueue: s.taskQueue,
    input: s.input ?? {},
    overlap: s.overlap,
    catchupWindowMs: msToNumber(s.catchupWindow as Duration),
    paused: state.paused,
    ...(state.note ? { note: state.note } : {}),
  };
}

/** An `up` whose start would not be before the end the schedule keeps (or the other way round). */
export class ScheduleSpanError extends Error {}

/** What `up` did: created or updated the schedule, and its facts before (an update) and after. */
export interface UpsertResult {
  outcome: 'created' | 'updated';
  before?: ScheduleFacts;
  after: ScheduleFacts;
}

/**
 * Why a spec would never start a run, or undefined: its first scheduled time (the end of the start's hour, at
 * the schedule's minute) comes after its endAt, the time its last run is due (the end plus the minute:
 * scheduledTimeRange; Temporal starts a run due at endAt itself). With a start and an end on whole hours and the
 * start before the end, there is always one: a start at 10:00 and an end at 11:00, runs at :15, has its one run at
 * 11:15 (endAt), loading 10:00-11:00. What is left is a start between hours that a schedule keeps (made
 * elsewhere, or by an `up` before starts were refused between hours) with an end in the hour after it, and
 * settings given to upsertSchedule itself (not read by the CLI). `kept` says which of the two the schedule kept.
 */
function neverRuns(
  spec: { startAt?: Date; endAt?: Date },
  minute: number,
  kept: { start: boolean; end: boolean },
): string | undefined {
  if (!spec.startAt || !spec.endAt) return undefined;
  const offset = minute * MINUTE_MS;
  const firstMs = Math.ceil((spec.startAt.getTime() - offset) / HOUR_MS) * HOUR_MS + offset;
  if (firstMs <= spec.endAt.getTime()) return undefined;
  const start = spec.startAt.getTime() - HOUR_MS;
  // The end as given: endAt less the minute (a kept end is on the hour, then plus the minute).
  const end = spec.endAt.getTime() - offset;
  const mm = String(minute).padStart(2, '0');
  return (
    `no run would ever start between the start ${shortIso(start)}${kept.start ? ' (kept)' : ''} and the end ` +
    `${shortIso(end)}${kept.end ? ' (kept)' : ''}: the first would start at ${shortIso(firstMs)} ` +
    `(runs start at :${mm}, after the hour they load); give an end at or after ${shortIso(firstMs - offset)} ` +
    '(SCHEDULE_END or --end), or remove the end with --end none'
  );
}

/**
 * Creates the schedule, or updates it in place to the given settings: running it twice leaves one schedule
 * with the second call's spec. Its paused state is kept on update, and so are its start and its end when the
 * settings name none: an `up` without SCHEDULE_START or SCHEDULE_END (a shell that does not have them,
 * `npm run schedule -- up --minute 5`) must not turn a schedule that loads a given span of hours into one
 * without a start or an end. An end is removed only when asked (endAt null: SCHEDULE_END=none, `--end none`).
 * A kept end moves with the minute (scheduledTimeRange). A kept start or end that leaves no hour between them is
 * refused (ScheduleSpanError), nothing changed, and so is a span in which no run would start (neverRuns), on
 * update and on creation. Returns the schedule's facts before and after, for `up` to say what changed: the
 * settings it applies are the current ones, whatever the last `up` was given.
 */
export async function upsertSchedule(client: Client, s: ScheduleSettings): Promise<UpsertResult> {
  const options = scheduleOptions(s);
  const handle = client.schedule.getHandle(s.id);
  let facts: { before: ScheduleFacts; after: ScheduleFacts } | undefined;
  try {
    await handle.update((previous) => {
      const keptEnd = s.endAt === undefined && previous.spec.endAt ? floorToHour(previous.spec.endAt.getTime()) : null;
      const spec = {
        ...options.spec,
        ...(!s.startAt && previous.spec.startAt ? { startAt: previous.spec.startAt } : {}),
        ...(keptEnd !== null ? { endAt: new Date(keptEnd + s.minute * MINUTE_MS) } : {}),
      };
      const start = spec.startAt ? spec.startAt.getTime() - HOUR_MS : undefined;
      const end = spec.endAt ? floorToHour(spec.endAt.getTime()) : undefined;
      if (start !== undefined && end !== undefined && start >= end) {
        throw new ScheduleSpanError(
          s.startAt
            ? `the start ${shortIso(start)} is not before the end the schedule keeps (${shortIso(end)}): give an ` +
                'end after it (SCHEDULE_END or --end), or remove the end with --end none'
            : `the end ${shortIso(end)} is not after the start the schedule keeps (${shortIso(start)}): give a ` +
                'start before it (SCHEDULE_START or --start)',
        );
      }
      const never = neverRuns(spec, s.minute, { start: !s.startAt, end: s.endAt === undefined });
      if (never) throw new ScheduleSpanError(never);
      facts = { before: scheduleFacts(previous), after: settingsFacts(s, spec, previous.state) };
      return { ...previous, ...options, spec, state: previous.state };
    });
    return { outcome: 'updated', ...facts! };
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  const never = neverRuns(options.spec, s.minute, { start: false, end: false });
  if (never) throw new ScheduleSpanError(never);
  const note = 'created by sparkify (schedule up, or start)';
  await client.schedule.create({ scheduleId: s.id, ...options, state: { note } });
  return { outcome: 'created', after: settingsFacts(s, options.spec, { paused: false, note }) };
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

/** How the run an action started stands: its status (`completed`, `running`, ...), when it closed, what it did. */
export interface ActionStatus {
  status: string;
  closedAt?: Date;
  /** A completed late-data watcher cycle's result: the hours it re-ran, held, left alone. */
  cycle?: LateDataWatcherResult;
}

/**
 * How the run of a schedule's most recent action stands, read from the run itself: the status a schedule's
 * description keeps of its actions (startWorkflowStatus) is the one at the start, `running`, long after the run
 * completed (seen on the dev server), so it is not shown. A completed cycle of the late-data watcher is read
 * for its result too (one more call), so that `describe` can say what the cycle did.
 */
export async function lastActionStatus(client: Client, d: ScheduleDescription): Promise<ActionStatus | undefined> {
  const last = d.info.recentActions.at(-1);
  if (!last) return undefined;
  try {
    const handle = client.workflow.getHandle(last.action.workflow.workflowId);
    const run = await handle.describe();
    const cycle =
      run.status.name === 'COMPLETED' && run.type === 'LateDataWatcher'
        ? ((await handle.result()) as LateDataWatcherResult)
        : undefined;
    return {
      status: run.status.name.toLowerCase().replaceAll('_', ' '),
      ...(run.closeTime ? { closedAt: run.closeTime } : {}),
      ...(cycle ? { cycle } : {}),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { status: 'no longer kept by the server (retention)' };
    throw err;
  }
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
