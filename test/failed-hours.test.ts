/**
 * How backfill's summary groups failed hours (src/cli/failed-hours.ts): the shapes the command-line tests in
 * failures.test.ts do not reach (a failure that names its hour, hours across midnight, gaps, many stretches).
 */
import type { HourOutcome } from '../src/backfill';
import { causeWithoutHour, failedHoursLines, groupFailedHours, hoursLabel } from '../src/cli/failed-hours';
import { checksFailedMessage } from '../src/failures';
import { HOUR_MS, makeInterval, toIso, workflowIdFor } from '../src/interval';

function failedHour(startIso: string, error: (interval: { start: string; end: string }) => string): HourOutcome {
  const startMs = Date.parse(startIso);
  const interval = makeInterval(toIso(startMs), toIso(startMs + HOUR_MS));
  return {
    interval,
    workflowId: workflowIdFor(interval),
    previous: 'none',
    action: 'run',
    status: 'failed',
    error: error(interval),
  };
}

test('a failure that names its own hour (a failed check) groups with the same failure of other hours', () => {
  const check = (i: { start: string; end: string }) =>
    checksFailedMessage([{ name: 'songplays_have_known_users', detail: '2 unknown' }], i);
  const hours = ['2018-11-05T22:00Z', '2018-11-05T23:00Z', '2018-11-06T00:00Z'].map((h) => failedHour(h, check));
  expect(causeWithoutHour(hours[0]!)).toBe(
    'checks: 1 failed for <start> .. <end>: songplays_have_known_users (2 unknown)',
  );
  const groups = groupFailedHours(hours);
  expect(groups).toHaveLength(1);
  expect(failedHoursLines(groups)).toEqual([
    '  FAILED 3 hours 2018-11-05T22h..2018-11-06T00h: checks: 1 failed for <start> .. <end>: ' +
      'songplays_have_known_users (2 unknown)',
    `    workflow ids: ${hours.map((h) => h.workflowId).join(', ')}`,
  ]);
});

test('hours with gaps are named stretch by stretch; more than 3 are named by their first and last workflow id', () => {
  const same = () => 'stageEvents: log_data/x.json line 3: invalid JSON';
  const starts = ['2018-11-05T07:00Z', '2018-11-05T03:00Z', '2018-11-05T08:00Z', '2018-11-05T09:00Z'];
  const hours = starts.map((h) => failedHour(h, same));
  expect(hoursLabel(hours)).toBe('2018-11-05T03h, 2018-11-05T07h..09h');
  const lines = failedHoursLines(groupFailedHours(hours));
  expect(lines[0]).toBe(
    '  FAILED 4 hours 2018-11-05T03h, 2018-11-05T07h..09h: stageEvents: log_data/x.json line 3: invalid JSON',
  );
  expect(lines[1]).toBe(`    workflow ids: ${hours[1]!.workflowId} .. ${hours[3]!.workflowId} (one per hour)`);
  // every other hour of two days: 24 stretches, the first 8 named, the hours of the rest counted
  const scattered = Array.from({ length: 24 }, (_, k) =>
    failedHour(toIso(Date.parse('2018-11-05T00:00Z') + 2 * k * HOUR_MS), same),
  );
  expect(hoursLabel(scattered)).toMatch(/^2018-11-05T00h, 2018-11-05T02h, .*, 2018-11-05T14h, and 16 more hour\(s\)$/);
});

test('hours whose causes differ keep a line each, with the cause as they failed', () => {
  const a = failedHour(
    '2018-11-05T10:00Z',
    () => 'stageEvents: f.json line 2: field "itemInSession" must be an integer',
  );
  const b = failedHour('2018-11-05T11:00Z', () => 'stageEvents: f.json line 5: field "sessionId" must be an integer');
  expect(failedHoursLines(groupFailedHours([a, b]))).toEqual([
    `  FAILED 2018-11-05T10h  ${a.workflowId}: ${a.error}`,
    `  FAILED 2018-11-05T11h  ${b.workflowId}: ${b.error}`,
  ]);
});
