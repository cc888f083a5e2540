import type { ScheduleDescription } from '@temporalio/client';
import { HOUR_MS } from './interval';
import { printable } from './printable';
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
 * A schedule may have been made elsewhere (the Temporal CLI, another program): its note, ids and input are any
 * text or JSON, so every line goes through printable() and every input value is bounded (boundedJson, clipped),
 * with URLs and secret-like fields redacted.
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
    const did = lastCycle?.cycle ? cycleText(lastCycle.cycle) : undefined;
    if (did) lines.push(`    ${did}`);
  }
  if (recent.length) {
    lines.push('  recent:');
    for (const a of recent.slice(-5)) {
      lines.push(`    ${shortIso(a.scheduledAt)} -> ${a.action.workflow.workflowId}`);
    }
  }
  // Names, notes and inputs come from whoever made the schedule: no control character reaches the terminal.
  return lines.map(printable).join('\n');
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
 * (files they read were removed)`. `npm run late` prints each hour (src/cli/late.ts, formatCycle). Undefined for
 * a result not of that shape (a cycle of another version of the watcher): describe says nothing of it.
 */
export function cycleText(r: LateDataWatcherResult): string | undefined {
  if (!Array.isArray(r?.reruns) || !r.reruns.every((x) => typeof x?.outcome === 'string')) return undefined;
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
  // Counts only as numbers: a result from elsewhere must not make describe throw (an object without toString).
  const n = (v: unknown) => (typeof v === 'number' && v > 0 ? v : 0);
  const [waiting, held, failedUnchanged] = [n(r.waiting), n(r.held?.hours), n(r.failedUnchanged)];
  if (waiting) parts.push(`${waiting} wait for the next cycle`);
  if (held) parts.push(`${held} held (files they read were removed)`);
  if (failedUnchanged) {
    parts.push(`${failedUnchanged} failed hour(s) left alone (nothing in their source changed since they failed)`);
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

/** A setting as `up` shows it; `item`, a load mode as the line of a creation lists them (`users=append`). */
type ShownSetting = { key: SettingKey; label: string; value: string; item?: string };

/**
 * A schedule's settings as `up` names and shows them, in the order it prints them. The input (before an update:
 * as the schedule held it, maybe made elsewhere) is shown as describe shows it: bounded, secrets redacted; one
 * that is not an object is one setting, `input`.
 */
function shownSettings(f: ScheduleFacts): ShownSetting[] {
  const time = (iso: string | undefined) => (iso ? shortIso(Date.parse(iso)) : '-');
  return [
    { key: 'start', label: 'start', value: time(f.start) },
    { key: 'end', label: 'end', value: time(f.end) },
    { key: 'minute', label: 'minute', value: f.minute === undefined ? '-' : `:${String(f.minute).padStart(2, '0')}` },
    ...inputSettings(f.input),
    { key: 'overlap', label: 'overlap', value: f.overlap },
    { key: 'catchupWindow', label: 'catch-up window', value: durationText(f.catchupWindowMs) },
    { key: 'taskQueue', label: 'task queue', value: f.taskQueue ?? '-' },
  ];
}

/** An input's settings: its source, each table's load mode, its retry budget, then its other fields. */
function inputSettings(given: unknown): ShownSetting[] {
  const input = fieldsOf(given);
  if (!input) return [{ key: 'input', label: 'input', value: `${shownValue('', given)} (not an object)` }];
  const { source, loadModes, retryBudget, ...rest } = input;
  const shown: ShownSetting[] = [
    {
      key: 'source',
      label: 'source',
      value: typeof source === 'string' && source ? shownValue('source', source) : "the worker's SOURCE_URL",
    },
  ];
  const modes = fieldsOf(loadModes);
  if (modes) {
    const entries = Object.entries(modes);
    for (const [table, mode] of entries.slice(0, FIELDS_MAX)) {
      const [name, value] = [clipped(table, 80), shownValue('', mode)];
      shown.push({ key: 'loadModes', label: `load mode of ${name}`, value, item: `${name}=${value}` });
    }
    if (entries.length > FIELDS_MAX) {
      const more = `${entries.length - FIELDS_MAX}`;
      shown.push({ key: 'loadModes', label: 'load modes of more tables', value: more, item: `and ${more} more` });
    }
  } else if (loadModes !== undefined) {
    shown.push({ key: 'loadModes', label: 'load modes', value: shownValue('loadModes', loadModes) });
  }
  if (retryBudget !== undefined) {
    shown.push({ key: 'retryBudget', label: 'retry budget', value: shownValue('retryBudget', retryBudget) });
  }
  const entries = Object.entries(rest);
  for (const [k, v] of entries.slice(0, FIELDS_MAX)) {
    shown.push({ key: 'input', label: clipped(k, 80), value: shownValue(k, v) });
  }
  if (entries.length > FIELDS_MAX) {
    shown.push({ key: 'input', label: 'more input fields', value: `${entries.length - FIELDS_MAX}` });
  }
  return shown;
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
    const modes = now.flatMap((s) => (s.key === 'loadModes' ? [s.item ?? s.value] : []));
    const lines: string[] = [];
    let modesShown = false;
    for (const s of now) {
      if (s.key !== 'loadModes') lines.push(`  ${s.label}: ${s.value}${why(s.key)}`);
      else if (!modesShown) {
        lines.push(`  load modes: ${modes.join(' ')}${why('loadModes')}`);
        modesShown = true;
      }
    }
    return lines.map(printable);
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
  // The values before an update are the schedule's, maybe made elsewhere: no control character is printed.
  return lines.map(printable);
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

/** An interval spec as a person says it: `hourly at :00`, `every 30m at +5m`. */
function everyText(i: { every: number; offset?: number }): string {
  const offset = i.offset ?? 0;
  if (i.every === HOUR_MS && offset < HOUR_MS)
    return `hourly at :${String(Math.round(offset / 60_000)).padStart(2, '0')}`;
  return `every ${durationText(i.every)}${offset ? ` at +${durationText(offset)}` : ''}`;
}
