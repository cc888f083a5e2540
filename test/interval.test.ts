import {
  daysTouched,
  hoursIn,
  intervalForScheduledTime,
  intervalKey,
  makeInterval,
  parseInstant,
  workflowIdFor,
  intervalOfWorkflowId,
} from '../src/interval';
import { runStagingTable } from '../src/warehouse/tables';

test('parses the time formats people type, as UTC unless an offset is given', () => {
  expect(parseInstant('2018-11-15')).toBe(Date.UTC(2018, 10, 15));
  expect(parseInstant('2018-11-15T13')).toBe(Date.UTC(2018, 10, 15, 13));
  expect(parseInstant('2018-11-15T13:00Z')).toBe(Date.UTC(2018, 10, 15, 13));
  expect(parseInstant('2018-11-15T13:30:15.250Z')).toBe(Date.UTC(2018, 10, 15, 13, 30, 15, 250));
  expect(parseInstant('2018-11-15T15:00+02:00')).toBe(Date.UTC(2018, 10, 15, 13));
  expect(() => parseInstant('yesterday', 'start')).toThrow('start "yesterday" is not an ISO-8601 time');
  expect(() => parseInstant('2018-02-30')).toThrow('is not a valid calendar time');
});

test('an interval must go forwards', () => {
  expect(makeInterval('2018-11-15T13:00Z', '2018-11-15T14:00Z')).toEqual({
    start: '2018-11-15T13:00:00.000Z',
    end: '2018-11-15T14:00:00.000Z',
  });
  expect(() => makeInterval('2018-11-15T14:00Z', '2018-11-15T14:00Z')).toThrow('must be before end');
});

test('the run scheduled at T loads [T - 1h, T), like Airflow', () => {
  expect(intervalForScheduledTime(Date.UTC(2018, 10, 15, 14))).toEqual({
    start: '2018-11-15T13:00:00.000Z',
    end: '2018-11-15T14:00:00.000Z',
  });
  // the 00:00 run loads the last hour of the previous day
  expect(intervalForScheduledTime(Date.UTC(2018, 10, 16))).toEqual({
    start: '2018-11-15T23:00:00.000Z',
    end: '2018-11-16T00:00:00.000Z',
  });
});

test('hours of a range, and the day files an interval touches', () => {
  const hours = hoursIn(makeInterval('2018-11-15T22:00Z', '2018-11-16T02:00Z'));
  expect(hours.map((h) => h.start.slice(11, 13))).toEqual(['22', '23', '00', '01']);
  expect(() => hoursIn(makeInterval('2018-11-15T22:30Z', '2018-11-16T02:00Z'))).toThrow('not aligned to whole hours');
  expect(daysTouched(makeInterval('2018-11-15T13:00Z', '2018-11-15T14:00Z'))).toEqual(['2018-11-15']);
  expect(daysTouched(makeInterval('2018-11-15T23:30Z', '2018-11-16T00:30Z'))).toEqual(['2018-11-15', '2018-11-16']);
  expect(daysTouched(makeInterval('2018-11-15', '2018-11-16'))).toEqual(['2018-11-15']);
});

test('workflow ids and staging tables are derived from the interval', () => {
  const hour = makeInterval('2018-11-21T13:00Z', '2018-11-21T14:00Z');
  // an hour is named by its end, as a Schedule names its run at scheduled time T (which loads [T - 1h, T))
  expect(workflowIdFor(hour)).toBe('sparkify-etl-2018-11-21T14:00:00Z');
  expect(workflowIdFor(hour, 'staging')).toBe('staging-2018-11-21T14:00:00Z');
  const day = makeInterval('2018-11-21', '2018-11-22');
  expect(workflowIdFor(day)).toBe('sparkify-etl-2018-11-21T00:00:00Z--2018-11-22T00:00:00Z');
  expect(intervalOfWorkflowId('sparkify-etl-2018-11-21T14:00:00Z')).toEqual(hour);
  expect(intervalOfWorkflowId(workflowIdFor(day))).toEqual(day);
  const odd = makeInterval('2018-11-21T13:00:00.250Z', '2018-11-21T13:30Z');
  expect(intervalOfWorkflowId(workflowIdFor(odd, 'prod'), 'prod')).toEqual(odd);
  // another deployment's ids, or ids that merely start alike, are not this deployment's
  expect(intervalOfWorkflowId('staging-2018-11-21T14:00:00Z')).toBeUndefined();
  expect(intervalOfWorkflowId('sparkify-etl-2018-11-21T14:00:00Z', 'sparkify')).toBeUndefined();
  expect(intervalOfWorkflowId('sparkify-etl-2018-11-21T13:00Z')).toBeUndefined();
  expect(intervalOfWorkflowId('sparkify-etl-2018-11-21T13:00:00Z--2018-11-21T14:00:00Z')).toBeUndefined();
  expect(intervalKey(hour)).toBe('20181121T1300_1h');
  expect(runStagingTable(intervalKey(hour))).toBe('"staging_events_20181121t1300_1h"');
  expect(() => runStagingTable('x"; drop table users; --')).toThrow('invalid run key');
});
