import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes every run sets at its start: the data interval it loads, so the Web UI and the
 * CLI find the run(s) of an hour (`DataIntervalStart = '2018-11-01T13:00:00Z'`) whoever started them, and
 * show the interval as a column. A namespace must have them registered before a run sets them (the dev
 * server of `npm start` and of the tests, docker-compose, or `temporal operator search-attribute create`
 * for an existing cluster: docs/operations.md). Pure: the workflow sandbox imports it.
 */
export const DATA_INTERVAL_START = defineSearchAttributeKey('DataIntervalStart', SearchAttributeType.DATETIME);
export const DATA_INTERVAL_END = defineSearchAttributeKey('DataIntervalEnd', SearchAttributeType.DATETIME);

/**
 * The interval's search attributes as a command sets them when it starts a run (etl, backfill): the run then
 * finds them set and does not update them itself (one visibility update less per run).
 */
export function intervalSearchAttributes(interval: { start: string; end: string }) {
  return [
    { key: DATA_INTERVAL_START, value: new Date(interval.start) },
    { key: DATA_INTERVAL_END, value: new Date(interval.end) },
  ];
}

/** Whether a run's search attributes already hold its interval (set by the command that started it). */
export function holdsInterval(
  attributes: { get(key: typeof DATA_INTERVAL_START): Date | undefined },
  interval: { start: string; end: string },
): boolean {
  return (
    attributes.get(DATA_INTERVAL_START)?.getTime() === Date.parse(interval.start) &&
    attributes.get(DATA_INTERVAL_END)?.getTime() === Date.parse(interval.end)
  );
}

/** As the Temporal CLI takes them: `--search-attribute DataIntervalStart=Datetime` (dev server) or `--name/--type`. */
export const CUSTOM_SEARCH_ATTRIBUTES: readonly { name: string; type: 'Datetime' }[] = [
  { name: DATA_INTERVAL_START.name, type: 'Datetime' },
  { name: DATA_INTERVAL_END.name, type: 'Datetime' },
];
