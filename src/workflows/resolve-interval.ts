import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { BAD_INPUT } from '../failures';
import { floorToHour, intervalForScheduledTime, makeInterval, type Interval } from '../interval';
import type { SparkifyEtlInput } from '../types';
import { SCHEDULED_HOUR_FLOORED } from './patches';

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** The run's interval: named in the input, or derived from the schedule's time T. `since`: the run's patched(). */
export function resolveInterval(input: SparkifyEtlInput, since: (patch: string) => boolean): Interval {
  if (input.start || input.end) {
    if (!input.start || !input.end) {
      throw ApplicationFailure.nonRetryable('give both start and end of the interval, or neither', BAD_INPUT);
    }
    try {
      return makeInterval(input.start, input.end);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`invalid interval: ${(err as Error).message}`, BAD_INPUT);
    }
  }
  const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START);
  if (scheduled) {
    // A run triggered by hand (or a schedule with a minute offset) is scheduled between hours: it loads the last
    // whole hour before its time, never a slice across two hours.
    const t = scheduled.getTime();
    return intervalForScheduledTime(since(SCHEDULED_HOUR_FLOORED) ? floorToHour(t) : t);
  }
  throw ApplicationFailure.nonRetryable(
    'SparkifyEtl needs an interval: pass { start, end } (e.g. 2018-11-15T13:00Z and 2018-11-15T14:00Z) ' +
      'or start it from the schedule, which supplies its scheduled time',
    BAD_INPUT,
  );
}
