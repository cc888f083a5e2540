/**
 * TIME on the command line (src/cli/times.ts): dates name whole days, and the relative forms the README's
 * examples use are read against the clock. The clock is a parameter here, so the examples are checked at
 * every time of day, the hours just after midnight UTC included, whenever this test runs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { intervalFromTimes } from '../src/cli/times';
import { parseTime, scheduleBound, shortIso } from '../src/times';
import { DAY_MS, floorToHour, HOUR_MS, toIso } from '../src/interval';
import { ROOT } from './support/processes';

const NOW = Date.parse('2026-11-26T01:20:30Z');

test('dates, instants and relative times', () => {
  expect(parseTime('2018-11-15', '--to', NOW)).toEqual({ ms: Date.parse('2018-11-15T00:00Z'), day: true });
  expect(parseTime('2018-11-15T13:00Z', '--to', NOW)).toEqual({ ms: Date.parse('2018-11-15T13:00Z'), day: false });
  expect(toIso(parseTime('now', '--to', NOW).ms)).toBe('2026-11-26T01:00:00.000Z');
  expect(toIso(parseTime('now-6h', '--to', NOW).ms)).toBe('2026-11-25T19:00:00.000Z');
  expect(parseTime('today', '--from', NOW)).toEqual({ ms: Date.parse('2026-11-26T00:00Z'), day: true });
  expect(parseTime('TODAY-2d', '--from', NOW)).toEqual({ ms: Date.parse('2026-11-24T00:00Z'), day: true });
  expect(parseTime('yesterday+13h', '--from', NOW)).toEqual({ ms: Date.parse('2026-11-25T13:00Z'), day: false });
  expect(() => parseTime('soon', '--from', NOW)).toThrow(
    '--from "soon" is not a time such as 2018-11-15T13:00Z, a date such as 2018-11-15, or now, today, yesterday',
  );
  expect(() => parseTime('2018-02-30', '--to', NOW)).toThrow('--to "2018-02-30" is not a valid calendar time');
});

test('the earliest time handled is named: 0100-01-01T00:00Z (Date.UTC reads years 0 to 99 as 19xx)', () => {
  const earliest = 'is before the earliest time this tool handles, 0100-01-01T00:00Z; give a later --from';
  expect(() => intervalFromTimes('0001-01-01', 'now', NOW)).toThrow(`--from 0001-01-01 ${earliest}`);
  expect(() => intervalFromTimes('0099-12-31T23:00Z', 'now', NOW)).toThrow(`--from 0099-12-31T23:00Z ${earliest}`);
  expect(() => intervalFromTimes('0100-01-01T00:30+01:00', 'now', NOW)).toThrow(
    `--from 0100-01-01T00:30+01:00 ${earliest}`,
  );
  expect(intervalFromTimes('0100-01-01', '0100-01-01', NOW)).toEqual({
    start: '0100-01-01T00:00:00.000Z',
    end: '0100-01-02T00:00:00.000Z',
  });
});

test('a date as --to is the end of that day: --from and --to the same date is one day', () => {
  expect(intervalFromTimes('2018-11-01', '2018-11-07', NOW)).toEqual({
    start: '2018-11-01T00:00:00.000Z',
    end: '2018-11-08T00:00:00.000Z',
  });
  expect(intervalFromTimes('yesterday', 'yesterday', NOW)).toEqual({
    start: '2026-11-25T00:00:00.000Z',
    end: '2026-11-26T00:00:00.000Z',
  });
  expect(intervalFromTimes('2018-11-01T13:00Z', '2018-11-01T14:00Z', NOW).end).toBe('2018-11-01T14:00:00.000Z');
  expect(() => intervalFromTimes('2018-11-02', '2018-11-01', NOW)).toThrow(
    '--from 2018-11-02 (2018-11-02T00:00:00.000Z) must be before --to 2018-11-01 (2018-11-02T00:00:00.000Z, the end of that day)',
  );
});

/** Every `npm run etl|backfill|status -- … --from X --to Y` in the README, with X and Y. */
function readmeExamples(): { line: string; from: string; to: string }[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const found: { line: string; from: string; to: string }[] = [];
  for (const m of readme.matchAll(/npm run (?:etl|backfill|status) -- [^`\n#|]*/g)) {
    const from = /--from (\S+)/.exec(m[0])?.[1];
    const to = /--to (\S+)/.exec(m[0])?.[1];
    if (from && to) found.push({ line: m[0].trim(), from, to });
  }
  return found;
}

test("the README's examples name complete hours of `npm start`'s sample at any time of day", () => {
  const examples = readmeExamples();
  expect(examples.length).toBeGreaterThanOrEqual(6);
  const day = Date.parse('2026-11-26T00:00Z');
  // every minute of a day, just after midnight UTC (when examples naming today's hours used to fail) included
  for (let now = day; now < day + DAY_MS; now += 60_000) {
    // npm start's sample: three days ending today (src/cli/start.ts)
    const sampleStart = day - 2 * DAY_MS;
    for (const e of examples.filter((x) => !/^\d{4}-/.test(x.from))) {
      const { start, end } = intervalFromTimes(e.from, e.to, now);
      const [s, t] = [Date.parse(start), Date.parse(end)];
      const where = `${e.line} at ${toIso(now)}: ${start} .. ${end}`;
      if (s < sampleStart) throw new Error(`before the sample: ${where}`);
      // over by now: the hour that ends at `end` is complete (backfill and etl refuse anything later)
      if (t > floorToHour(now)) throw new Error(`not over yet: ${where}`);
      if (s % HOUR_MS !== 0 || t % HOUR_MS !== 0) throw new Error(`not on whole hours: ${where}`);
    }
  }
});

test('tomorrow, and the start and end of a schedule: whole hours, an end date to its end', () => {
  expect(parseTime('tomorrow', '--to', NOW)).toEqual({ ms: Date.parse('2026-11-27T00:00Z'), day: true });
  expect(parseTime('Tomorrow+2d', '--to', NOW)).toEqual({ ms: Date.parse('2026-11-29T00:00Z'), day: true });
  expect(parseTime('tomorrow+3h', '--to', NOW)).toEqual({ ms: Date.parse('2026-11-27T03:00Z'), day: false });
  const end = (text: string) => shortIso(scheduleBound(text, '--end', NOW, 'end'));
  const start = (text: string) => shortIso(scheduleBound(text, '--start', NOW, 'start'));
  expect(end('2026-11-27')).toBe('2026-11-28T00:00Z');
  expect(start('2026-11-27')).toBe('2026-11-27T00:00Z');
  expect(end('today+2d')).toBe('2026-11-29T00:00Z');
  expect(end('now+3h')).toBe('2026-11-26T04:00Z');
  expect(end('tomorrow')).toBe('2026-11-28T00:00Z');
  expect(start('today-2d')).toBe('2026-11-24T00:00Z');
  expect(end('2026-11-27T05:00+01:00')).toBe('2026-11-27T04:00Z');
  expect(() => start('2026-11-25T05:30Z')).toThrow(
    '--start 2026-11-25T05:30Z is not on a whole hour (the runs load whole hours); did you mean 2026-11-25T05:00Z?',
  );
  expect(() => end('2026-11-25T05:30Z')).toThrow('did you mean 2026-11-25T05:00Z or 2026-11-25T06:00Z?');
  expect(() => end('9999-12-31')).toThrow('--end 9999-12-31 (the end of that day) is past 9999-12-31T23:00Z');
  expect(() => end('soon')).toThrow('--end "soon" is not a time such as 2018-11-15T13:00Z');
  expect(shortIso(Date.parse('2026-11-26T01:20:30.250Z'))).toBe('2026-11-26T01:20:30Z');
});
