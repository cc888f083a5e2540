import { DAY_MS, floorToHour, HOUR_MS, IntervalError, parseInstant, toIso } from './interval';

/**
 * A TIME as people give it to the commands and to SCHEDULE_START/SCHEDULE_END, UTC throughout:
 * - an ISO-8601 time: `2018-11-15T13:00Z`, `2018-11-15T13`, `2018-11-15 13:00+01:00`;
 * - a date, `2018-11-15`: a whole day (an end given as a date is the end of that day);
 * - `now` (the start of the current hour: the end of the last complete one), `today`, `yesterday`, `tomorrow`,
 *   each optionally moved by whole hours or days: `now-6h`, `today-2d`, `yesterday+13h`. `today`, `yesterday`
 *   and `tomorrow`, alone or moved by days, are dates (as above); moved by hours, or `now`, they are times.
 * Relative forms are read against the clock given (nowMs): once, when the command starts.
 */

/** The earliest time handled. */
const FIRST_YEAR = 100;
export const FIRST_START = '0100-01-01T00:00Z';
export const FIRST_MS = Date.UTC(FIRST_YEAR, 0, 1);
/** The latest end handled: 10000-01-01 has no 4-digit-year ISO form (workflow ids, etl_runs). */
export const LAST_END_MS = Date.UTC(9999, 11, 31, 23);

const RELATIVE = /^(now|today|yesterday|tomorrow)(?:([+-])(\d{1,5})([hd]))?$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A TIME as epoch ms: its start, and whether it names a whole day (a date). */
export function parseTime(text: string, what: string, nowMs: number): { ms: number; day: boolean } {
  const value = text.trim();
  const relative = RELATIVE.exec(value);
  if (relative) {
    const [, base = '', sign, amount, unit] = relative;
    const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
    const name = base.toLowerCase() as 'now' | 'today' | 'yesterday' | 'tomorrow';
    const start = { now: floorToHour(nowMs), today, yesterday: today - DAY_MS, tomorrow: today + DAY_MS }[name];
    const shift = amount
      ? (sign === '-' ? -1 : 1) * Number(amount) * (unit!.toLowerCase() === 'd' ? DAY_MS : HOUR_MS)
      : 0;
    const day = name !== 'now' && (!unit || unit.toLowerCase() === 'd');
    return { ms: start + shift, day };
  }
  // Date.UTC reads years 0 to 99 as 1900 to 1999: the earliest time parseInstant reads as written is in year 100.
  const year = /^(\d{4})-/.exec(value)?.[1];
  if (year !== undefined && Number(year) < FIRST_YEAR) {
    throw new IntervalError(
      `${what} ${text} is before the earliest time this tool handles, ${FIRST_START}; give a later ${what}`,
    );
  }
  try {
    return { ms: parseInstant(value, what), day: DATE.test(value) };
  } catch (err) {
    if (err instanceof IntervalError && /is not an ISO-8601 time/.test(err.message)) {
      throw new IntervalError(
        `${what} "${text}" is not a time such as 2018-11-15T13:00Z, a date such as 2018-11-15, ` +
          'or now, today, yesterday, tomorrow (moved like now-6h, today-2d)',
      );
    }
    throw err;
  }
}

/** `2018-11-15T13:00Z`: a time as status and schedule print it (seconds only when it has some). */
export function shortIso(time: number | Date): string {
  const iso = toIso(typeof time === 'number' ? time : time.getTime());
  return iso.slice(17, 23) === '00.000' ? `${iso.slice(0, 16)}Z` : `${iso.slice(0, 19)}Z`;
}

/**
 * The start or the end of the hours a schedule loads (SCHEDULE_START, SCHEDULE_END, `schedule up --start/--end`),
 * as epoch ms. An end given as a date is the end of that day, as `--to` reads it: `--end 2026-11-27` loads the
 * 27th's last hour. Both must be on a whole hour: each run loads a whole hour, so a start at 05:30 would leave
 * 05:00-06:00 unloaded and an end at 05:30 would leave 05:00-05:30 out; refused, naming the hour meant, as
 * backfill refuses its --from and --to.
 */
export function scheduleBound(text: string, what: string, nowMs: number, bound: 'start' | 'end'): number {
  const t = parseTime(text, what, nowMs);
  const ms = bound === 'end' && t.day ? t.ms + DAY_MS : t.ms;
  const shown = `${what} ${text.trim()}${bound === 'end' && t.day ? ' (the end of that day)' : ''}`;
  if (ms < FIRST_MS) throw new IntervalError(`${shown} is before ${FIRST_START}, the earliest time this tool handles`);
  if (ms > LAST_END_MS)
    throw new IntervalError(`${shown} is past 9999-12-31T23:00Z, the latest time this tool handles`);
  if (ms % HOUR_MS !== 0) {
    const down = floorToHour(ms);
    throw new IntervalError(
      `${shown} is not on a whole hour (the runs load whole hours); did you mean ${shortIso(down)}` +
        (bound === 'end' ? ` or ${shortIso(down + HOUR_MS)}?` : '?'),
    );
  }
  return ms;
}
