/**
 * Activities called by a test (or a benchmark) without a worker: each call runs in a MockActivityEnvironment,
 * so heartbeats, cancellation, the activity logger and metrics reach a context as they do on a worker.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';

/** The activity logger at ERROR, as the tests' workers log: a test's output shows failures only. */
const QUIET = new DefaultLogger('ERROR');

/** A fresh activity context; listen to its 'heartbeat' events or cancel() it to test those paths. */
export function activityEnvironment(): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { logger: QUIET });
}

/** Runs one activity call in `env` (a fresh activity context when not given), typed as the activity is. */
export function runActivity<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
  args: A,
  env = activityEnvironment(),
): Promise<R> {
  return env.run(fn, ...args);
}

/** The same activities, each call of which runs in a fresh activity context. */
export function inActivityContext<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [name, (...args: Parameters<typeof fn>) => runActivity(fn, args)]),
  ) as T;
}
