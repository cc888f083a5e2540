import type { HourOutcome } from '../backfill';
import { HOUR_MS, intervalKey, toIso, toMs } from '../interval';
import { badLinesListing } from '../outcome';

/** How many hours of a group the summary names by workflow id; a larger group is named by its first and last. */
const IDS_LISTED = 3;
/** How many stretches of consecutive hours a group's line names; the hours of the others are counted. */
const STRETCHES_LISTED = 8;

/** Hours that failed alike: the same cause once what names the hour is taken out, and the same bad lines listed. */
export interface FailedHours {
  /** In time order. */
  hours: HourOutcome[];
  /** The cause with the hour's names as placeholders (`<start>`, `<end>`, `<workflow id>`, `<run key>`). */
  cause: string;
}

/**
 * A failed hour's cause without what names the hour in it (its workflow id, its run key, its start and end as a
 * run writes them), so that hours that failed for one reason compare equal: a bad line with no time fails every
 * hour of its day with the same message, and a failed check names each hour's interval in its own.
 */
export function causeWithoutHour(hour: HourOutcome): string {
  const { startMs, endMs } = toMs(hour.interval);
  const key = intervalKey(hour.interval);
  const names: [string, string][] = [
    // the workflow id first: it holds the end of the hour
    [hour.workflowId, '<workflow id>'],
    [key, '<run key>'],
    [key.toLowerCase(), '<run key>'], // in the name of the run's staging table
    [toIso(startMs), '<start>'],
    [toIso(startMs).replace('.000Z', 'Z'), '<start>'],
    [toIso(endMs), '<end>'],
    [toIso(endMs).replace('.000Z', 'Z'), '<end>'],
  ];
  let cause = hour.error ?? '';
  for (const [name, placeholder] of names) cause = cause.replaceAll(name, placeholder);
  return cause;
}

/**
 * The failed hours of a backfill, those that failed alike together (in the order their first hour failed in the
 * plan). Hours whose causes differ stay apart, one group each.
 */
export function groupFailedHours(failed: readonly HourOutcome[]): FailedHours[] {
  const groups = new Map<string, FailedHours>();
  for (const hour of failed) {
    const cause = causeWithoutHour(hour);
    const key = JSON.stringify([cause, hour.badData?.tooMany?.listed ?? null]);
    const group = groups.get(key);
    if (group) group.hours.push(hour);
    else groups.set(key, { hours: [hour], cause });
  }
  const startOf = (h: HourOutcome) => toMs(h.interval).startMs;
  return [...groups.values()].map((g) => ({ ...g, hours: [...g.hours].sort((a, b) => startOf(a) - startOf(b)) }));
}

/** `2026-11-25T00h..23h`, `2026-11-25T22h..2026-11-26T01h`, `2026-11-25T03h, 2026-11-25T07h..09h`: the hours, compactly. */
export function hoursLabel(hours: readonly HourOutcome[]): string {
  const starts = [...new Set(hours.map((h) => toMs(h.interval).startMs))].sort((a, b) => a - b);
  const stretches: [number, number][] = [];
  for (const ms of starts) {
    const last = stretches.at(-1);
    if (last && ms === last[1] + HOUR_MS) last[1] = ms;
    else stretches.push([ms, ms]);
  }
  const hourOf = (ms: number) => `${toIso(ms).slice(0, 13)}h`;
  const label = ([from, to]: [number, number]) => {
    if (from === to) return hourOf(from);
    const sameDay = toIso(from).slice(0, 10) === toIso(to).slice(0, 10);
    return `${hourOf(from)}..${sameDay ? `${toIso(to).slice(11, 13)}h` : hourOf(to)}`;
  };
  const shown = stretches.slice(0, STRETCHES_LISTED).map(label);
  const rest = stretches.slice(STRETCHES_LISTED).reduce((n, [from, to]) => n + (to - from) / HOUR_MS + 1, 0);
  return shown.join(', ') + (rest ? `, and ${rest} more hour(s)` : '');
}

/**
 * The summary's lines for the failed hours: an hour that failed for a reason of its own keeps its line
 * (`FAILED 2018-11-02T10h  <workflow id>: <cause>`); hours that failed alike share one
 * (`FAILED 24 hours 2026-11-25T00h..23h: <cause>`), with their workflow ids under it (the first and last of many).
 * Under either, the first bad lines of a failure past maxErrors.
 */
export function failedHoursLines(groups: readonly FailedHours[]): string[] {
  const lines: string[] = [];
  for (const { hours, cause } of groups) {
    const first = hours[0];
    if (!first) continue;
    if (hours.length === 1) {
      lines.push(`  FAILED ${first.interval.start.slice(0, 13)}h  ${first.workflowId}: ${first.error}`);
    } else {
      lines.push(`  FAILED ${hours.length} hours ${hoursLabel(hours)}: ${cause}`);
      const ids =
        hours.length <= IDS_LISTED
          ? hours.map((h) => h.workflowId).join(', ')
          : `${first.workflowId} .. ${hours.at(-1)!.workflowId} (one per hour)`;
      lines.push(`    workflow ids: ${ids}`);
    }
    const tooMany = first.badData?.tooMany;
    if (tooMany) lines.push(...badLinesListing(tooMany, '    '));
  }
  return lines;
}
