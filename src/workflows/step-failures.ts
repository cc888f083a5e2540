import { ActivityFailure, ApplicationFailure, isCancellation, TimeoutFailure } from '@temporalio/workflow';

/**
 * How a step's failure becomes the run's: one line, the step then its cause
 * (`load songplays: [40P01] deadlock detected (gave up after …)`), never a wrapper such as "Activity task failed".
 */

/**
 * Like Promise.all, but waits for every step to settle before failing with the first error, so no step
 * is still writing to the run's staging when the run cleans it up.
 */
export async function allSettled<T extends readonly unknown[]>(
  steps: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(steps);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A step's failure as the run's own: `load songplays: [40P01] deadlock detected (gave up after 8 attempts)`. */
export class StepFailed extends Error {
  constructor(
    readonly step: string,
    readonly failure: ApplicationFailure,
  ) {
    super(failure.message);
  }
}

export function causeOf(err: ActivityFailure): string {
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) {
    const inner = cause.cause?.message;
    return `timed out (${String(cause.timeoutType).toLowerCase().replace(/_/g, ' ')})${inner ? `: ${inner}` : ''}`;
  }
  return cause?.message || err.message;
}

/** The one-line cause of a failed activity, whether it arrives wrapped (ActivityFailure) or not. */
export function messageOf(e: unknown): string {
  if (e instanceof ActivityFailure) return causeOf(e);
  return e instanceof Error ? e.message : String(e);
}

function retryNote(err: ActivityFailure, budget: string): string {
  if (err.retryState === 'MAXIMUM_ATTEMPTS_REACHED') {
    return (
      ` (gave up after retrying for the run's retry budget of ${budget}; a longer one waits out longer outages: ` +
      'RETRY_BUDGET, or --retry-budget on npm run etl)'
    );
  }
  return '';
}

/** Wraps a step so its failure names the step and its cause at the top of the run's failure. */
export async function named<T>(step: string, budget: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isCancellation(err)) throw err;
    let cause: string;
    let type: string | undefined;
    if (err instanceof ActivityFailure) {
      cause = `${causeOf(err)}${retryNote(err, budget)}`;
      type =
        err.cause instanceof ApplicationFailure && err.cause.type
          ? err.cause.type
          : err.cause?.name || 'ActivityFailed';
    } else if (err instanceof ApplicationFailure) {
      // A local activity's failure (checks, recordRun) arrives as the ApplicationFailure it threw.
      cause = err.message;
      type = err.type ?? undefined;
    } else {
      throw err;
    }
    throw new StepFailed(
      step,
      ApplicationFailure.create({
        message: `${step}: ${cause}`,
        type,
        nonRetryable: true,
        cause: err,
        details: [{ step }],
      }),
    );
  }
}

/** Anything else that ends a run (a bug, say) as a failure naming the workflow. */
export function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  return ApplicationFailure.create({
    message: `workflow: ${err instanceof Error ? err.message : String(err)}`,
    nonRetryable: true,
    cause: err instanceof Error ? err : undefined,
  });
}
