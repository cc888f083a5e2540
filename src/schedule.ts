import { ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { LateDataConfig, ScheduleConfig } from './config';
import { DEFAULT_DEPLOYMENT, HOUR_MS } from './interval';
import type { SparkifyEtlInput } from './types';
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

/**
 * Creates the schedule, or updates it in place to the given settings: running it twice leaves one schedule
 * with the second call's spec. Its paused state is kept on update, and so is its start when the settings name
 * none: an `up` without SCHEDULE_START (a shell that does not have it, `npm run schedule -- up --minute 5`)
 * must not turn a schedule that loads from a given hour into one without a start.
 */
export async function upsertSchedule(client: Client, s: ScheduleSettings): Promise<'created' | 'updated'> {
  const options = scheduleOptions(s);
  const handle = client.schedule.getHandle(s.id);
  try {
    await handle.update((previous) => ({
      ...previous,
      ...options,
      spec: {
        ...options.spec,
        ...(!s.startAt && previous.spec.startAt ? { startAt: previous.spec.startAt } : {}),
      },
      state: previous.state,
    }));
    return 'updated';
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
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

export function describeSchedule(d: ScheduleDescription): string {
  const spec = d.spec;
  const lines = [
    `schedule ${d.scheduleId}: ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
    `  runs: ${(spec.intervals ?? []).map(everyText).join(', ') || JSON.stringify(spec)}`,
    `  start: ${spec.startAt?.toISOString() ?? '-'}  end: ${spec.endAt?.toISOString() ?? '-'}`,
    `  overlap: ${d.policies.overlap}  catch-up window ${durationText(d.policies.catchupWindow)}`,
    `  actions taken: ${d.info.numActionsTaken}  running: ${d.info.runningActions.length}`,
    `  next: ${
      d.info.nextActionTimes
        .slice(0, 3)
        .map((t) => t.toISOString())
        .join(', ') || '-'
    }`,
  ];
  const recent = d.info.recentActions.slice(-5);
  if (recent.length) {
    lines.push('  recent:');
    for (const a of recent) {
      lines.push(`    ${a.scheduledAt.toISOString()} -> ${a.action.workflow.workflowId}`);
    }
  }
  return lines.join('\n');
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
