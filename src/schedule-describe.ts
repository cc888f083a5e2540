import type { ScheduleDescription } from '@temporalio/client';
import { HOUR_MS } from './interval';
import {
  durationText,
  scheduleEnd,
  scheduleFacts,
  scheduleStart,
  type ActionStatus,
  type ScheduleFacts,
} from './schedule';
import { shortIso } from './times';
import { loadModeNote } from './types';
import { redactUrl } from './warehouse/pool';
import type { LateDataWatcherResult } from './workflows/late-data-watcher';

/**
 * What `npm run schedule -- describe` prints of a schedule (the hourly one, the late-data watcher's), and what
 * `schedule up` and `npm start` print of the changes they made. Times as status prints them (shortIso).
 */
export function describeSchedule(d: ScheduleDescription, lastCycle?: ActionStatus, now = new Date()): string {
  const spec = d.spec;
  const action = d.action.type === 'startWorkflow' ? d.action : undefined;
  const hourly = action?.workflowType === 'SparkifyEtl';
  const watcher = action?.workflowType === 'LateDataWatcher';
  const start = hourly ? scheduleStart(d) : spec.startAt?.toISOString();
  const end = hourly ? scheduleEnd(d) : spec.endAt?.toISOString();
  const lines = [
    `schedule ${d.scheduleId}: ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
    `  runs: ${(spec.intervals ?? []).map(everyText).join(', ') || JSON.stringify(spec)}`,
    `  start: ${start ? shortIso(Date.parse(start)) : '-'}  end: ${end ? shortIso(Date.parse(end)) : '-'}`,
  ];
  const passed = hourly ? endPassed(scheduleFacts(d), now.getTime()) : undefined;
  if (passed) lines.push(`  warning: ${passed}`);
  const first = hourly ? firstActionTime(spec) : undefined;
  if (first) lines.push(`  first run at: ${shortIso(first)} (it loads the hour that begins at the start)`);
  if (action) {
    const input = (action.args?.[0] ?? {}) as Record<string, unknown>;
    lines.push(
      `  each ${watcher ? 'cycle' : 'run'}: ${action.workflowType} on task queue ${action.taskQueue}, ` +
        `workflow id ${action.workflowId}-<scheduled time>`,
    );
    if (watcher) {
      const { runInput, ...own } = input;
      lines.push(`  input: ${inputText(own)}`);
      lines.push(`  its re-runs' input: ${runInputText((runInput ?? {}) as Record<string, unknown>)}`);
    } else {
      lines.push(`  input: ${hourly ? runInputText(input) : inputText(input)}`);
    }
  }
  lines.push(
    `  overlap: ${d.policies.overlap}  catch-up window ${durationText(d.policies.catchupWindow)}`,
    `  actions taken: ${d.info.numActionsTaken}  running: ${d.info.runningActions.length}`,
    `  next: ${d.info.nextActionTimes.slice(0, 3).map(shortIso).join(', ') || '-'}`,
  );
  const recent = d.info.recentActions;
  if (watcher) {
    const last = recent.at(-1);
    const closed = lastCycle?.closedAt ? ` ${shortIso(lastCycle.closedAt)}` : '';
    lines.push(
      last
        ? `  last cycle: started ${shortIso(last.takenAt)}, ${lastCycle ? `${lastCycle.status}${closed}` : 'status not read'}` +
            ` (${last.action.workflow.workflowId})`
        : '  last cycle: none yet',
    );
    if (lastCycle?.cycle) lines.push(`    ${cycleText(lastCycle.cycle)}`);
  }
  if (recent.length) {
    lines.push('  recent:');
    for (const a of recent.slice(-5)) {
      lines.push(`    ${shortIso(a.scheduledAt)} -> ${a.action.workflow.workflowId}`);
    }
  }
  return lines.join('\n');
}

/**
 * A schedule whose last run is past: it starts no more runs (describe still says `active`, and `next: -`).
 * Said by `describe` and by `up`, with what starts runs again.
 */
export function endPassed(f: Pick<ScheduleFacts, 'end' | 'lastRunAt'>, nowMs: number): string | undefined {
  if (!f.end || !f.lastRunAt || Date.parse(f.lastRunAt) >= nowMs) return undefined;
  return (
    `the end (${shortIso(Date.parse(f.end))}) has passed: no more runs; give a later --end (or SCHEDULE_END) to ` +
    'schedule up, or --end none'
  );
}

/**
 * What a late-data watcher cycle did, from its result: `24 hour(s) re-run: 0 succeeded, 24 failed; 3 held
 * (files they read were removed)`. `npm run late` prints each hour (src/cli/late.ts, formatCycle).
 */
export function cycleText(r: LateDataWatcherResult): string {
  const parts: string[] = [];
  const count = (outcome: string) => r.reruns.filter((x) => x.outcome.startsWith(outcome)).length;
  if (r.dryRun) parts.push(`dry run: would re-run ${r.reruns.length} hour(s)`);
  else if (r.reruns.length === 0) parts.push('nothing to re-run');
  else {
    const skipped = count('skipped');
    parts.push(
      `${r.reruns.length} hour(s) re-run: ${count('succeeded')} succeeded, ${count('failed')} failed` +
        (skipped ? `, ${skipped} skipped (a run of the hour was in progress)` : ''),
    );
  }
  if (r.waiting) parts.push(`${r.waiting} wait for the next cycle`);
  if (r.held?.hours) parts.push(`${r.held.hours} held (files they read were removed)`);
  if (r.failedUnchanged) {
    parts.push(`${r.failedUnchanged} failed hour(s) left alone (nothing in their source changed since they failed)`);
  }
  return parts.join('; ');
}

/** The settings `up` applies, by where each comes from: what is said after a value `up` set. */
export type SettingKey =
  | 'start'
  | 'end'
  | 'minute'
  | 'source'
  | 'loadModes'
  | 'retryBudget'
  | 'input'
  | 'overlap'
  | 'catchupWindow'
  | 'taskQueue';

/** Where each setting's value came from, as `up` says it: `--minute`, `SCHEDULE_MINUTE unset`. */
export type SettingSources = Partial<Record<SettingKey, string>>;

/**
 * Where the values `up` (or `npm start`) applies came from, read from the settings as given: a command-line
 * option over its setting, a setting over its default. `given` holds the options given to `up`.
 */
export function settingSources(
  env: Readonly<Record<string, string | undefined>>,
  given: { start?: string; end?: string; minute?: string; source?: string } = {},
  defaultStart?: string,
): SettingSources {
  const from = (name: string) => (env[name] ? name : `${name} unset`);
  const endNone =
    given.end?.trim().toLowerCase() === 'none' || (!given.end && /^\s*none\s*$/i.test(env.SCHEDULE_END ?? ''));
  return {
    start: given.start ? '--start' : env.SCHEDULE_START ? 'SCHEDULE_START' : (defaultStart ?? 'SCHEDULE_START unset'),
    end: given.end ? (endNone ? '--end none' : '--end') : endNone ? 'SCHEDULE_END=none' : from('SCHEDULE_END'),
    minute: given.minute !== undefined ? '--minute' : from('SCHEDULE_MINUTE'),
    source: given.source ? '--source' : 'no --source',
    loadModes: from('LOAD_MODES'),
    retryBudget: from('RETRY_BUDGET'),
    overlap: from('SCHEDULE_OVERLAP'),
    catchupWindow: from('SCHEDULE_CATCHUP_WINDOW'),
    taskQueue: env.TASK_QUEUE ? 'TASK_QUEUE' : "TASK_QUEUE unset: the deployment's name",
  };
}

/** A schedule's settings as `up` names and shows them, in the order it prints them. */
function shownSettings(f: ScheduleFacts): { key: SettingKey; label: string; value: string }[] {
  const { source, loadModes, retryBudget, ...rest } = f.input;
  const time = (iso: string | undefined) => (iso ? shortIso(Date.parse(iso)) : '-');
  return [
    { key: 'start', label: 'start', value: time(f.start) },
    { key: 'end', label: 'end', value: time(f.end) },
    { key: 'minute', label: 'minute', value: f.minute === undefined ? '-' : `:${String(f.minute).padStart(2, '0')}` },
    {
      key: 'source',
      label: 'source',
      value: typeof source === 'string' && source ? shownString(source) : "the worker's SOURCE_URL",
    },
    ...Object.entries((loadModes ?? {}) as Record<string, unknown>).map(([table, mode]) => ({
      key: 'loadModes' as const,
      label: `load mode of ${table}`,
      value: String(mode),
    })),
    ...(retryBudget === undefined
      ? []
      : [{ key: 'retryBudget' as const, label: 'retry budget', value: shownValue('retryBudget', retryBudget) }]),
    ...Object.entries(rest).map(([k, v]) => ({ key: 'input' as const, label: k, value: shownValue(k, v) })),
    { key: 'overlap', label: 'overlap', value: f.overlap },
    { key: 'catchupWindow', label: 'catch-up window', value: durationText(f.catchupWindowMs) },
    { key: 'taskQueue', label: 'task queue', value: f.taskQueue ?? '-' },
  ];
}

/**
 * What `up` (and `npm start`) changed, a line each: `minute: :15 -> :00 (SCHEDULE_MINUTE unset)`; `no change`
 * when nothing did. On creation (no `before`), each setting it was created with. `up` applies the current
 * settings, not the last `up`'s options (an `up` without --minute goes back to SCHEDULE_MINUTE): said here.
 */
export function scheduleChanges(
  before: ScheduleFacts | undefined,
  after: ScheduleFacts,
  sources: SettingSources,
): string[] {
  const why = (key: SettingKey) => (sources[key] ? ` (${sources[key]})` : '');
  const now = shownSettings(after);
  if (!before) {
    // Created: each setting it was created with, the load modes on one line.
    const modes = now.flatMap((s) =>
      s.key === 'loadModes' ? [`${s.label.slice('load mode of '.length)}=${s.value}`] : [],
    );
    const lines: string[] = [];
    for (const s of now) {
      if (s.key !== 'loadModes') lines.push(`  ${s.label}: ${s.value}${why(s.key)}`);
      else if (!lines.some((l) => l.startsWith('  load modes: '))) {
        lines.push(`  load modes: ${modes.join(' ')}${why('loadModes')}`);
      }
    }
    return lines;
  }
  const was = shownSettings(before);
  const labels = [...new Set([...was, ...now].map((s) => s.label))];
  const lines: string[] = [];
  for (const label of labels) {
    const b = was.find((s) => s.label === label);
    const a = now.find((s) => s.label === label);
    if (b?.value === a?.value) continue;
    lines.push(`  ${label}: ${b?.value ?? '-'} -> ${a?.value ?? '-'}${why((a ?? b)!.key)}`);
  }
  if (!lines.length) lines.push('  no change');
  if (after.paused) {
    lines.push(`  still paused${after.note ? ` (${after.note})` : ''}: up keeps it so; unpause starts its runs again`);
  }
  return lines;
}

/** The first time the spec's interval matches at or after its startAt: the schedule's first action. */
function firstActionTime(spec: ScheduleDescription['spec']): Date | undefined {
  const interval = spec.intervals?.[0];
  if (!spec.startAt || !interval || spec.intervals!.length > 1) return undefined;
  const offset = interval.offset ?? 0;
  const n = Math.ceil((spec.startAt.getTime() - offset) / interval.every);
  return new Date(n * interval.every + offset);
}

/** A string of an input as it may be printed: a URL with its password and secret-like parameters redacted. */
function shownString(v: string): string {
  return /^[a-z][a-z\d+.-]*:\/\//i.test(v) ? redactUrl(v) : v;
}

/** Names of fields never to print the value of, should an input ever carry one. */
const SECRET_FIELD = /pass|secret|token|credential|private|api.?key|access.?key/i;

function shownValue(key: string, v: unknown): string {
  if (SECRET_FIELD.test(key)) return '***';
  if (typeof v === 'string') return shownString(v);
  return JSON.stringify(v, (k, x: unknown) =>
    k && SECRET_FIELD.test(k) ? '***' : typeof x === 'string' ? shownString(x) : x,
  );
}

/** `lookback 30d, concurrency 4`: an input's fields as `name value`, in its order. */
function inputText(input: Record<string, unknown>): string {
  return (
    Object.entries(input)
      .map(([k, v]) => `${k} ${shownValue(k, v)}`)
      .join(', ') || '{}'
  );
}

/**
 * A SparkifyEtl input (the hourly runs', the watcher's re-runs'): its source first (the worker's SOURCE_URL when
 * it names none), each table's load mode as `time=upsert (replaces the interval's rows)`, then the rest.
 */
function runInputText(input: Record<string, unknown>): string {
  const { source, loadModes, ...rest } = input;
  const parts = [`source ${typeof source === 'string' && source ? shownString(source) : "the worker's SOURCE_URL"}`];
  if (loadModes && typeof loadModes === 'object') {
    const modes = Object.entries(loadModes).map(([table, mode]) => {
      const note = loadModeNote(table, mode);
      return `${table}=${String(mode)}${note ? ` (${note})` : ''}`;
    });
    parts.push(`loadModes ${modes.join(' ')}`);
  }
  if (Object.keys(rest).length) parts.push(inputText(rest));
  return parts.join(', ');
}

/** An interval spec as a person says it: `hourly at :00`, `every 30m at +5m`. */
function everyText(i: { every: number; offset?: number }): string {
  const offset = i.offset ?? 0;
  if (i.every === HOUR_MS && offset < HOUR_MS)
    return `hourly at :${String(Math.round(offset / 60_000)).padStart(2, '0')}`;
  return `every ${durationText(i.every)}${offset ? ` at +${durationText(offset)}` : ''}`;
}
