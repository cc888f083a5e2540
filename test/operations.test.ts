/**
 * Operating the pipeline: metrics for Prometheus, and several worker processes sharing the work.
 */
import { planBackfill, runBackfill } from '../src/backfill';
import { makeInterval } from '../src/interval';
import { tableChecksums } from './support/checksum';
import { expectedFor } from './support/expected';
import {
  useTemporalEnv,
  createTestDatabase,
  testData,
  uniqueQueue,
  withWorker,
  type TestDatabase,
} from './support/helpers';
import { metric } from './support/metrics';
import { Background, freePort } from './support/processes';

const env = useTemporalEnv();

function workerEnv(db: TestDatabase, taskQueue: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TASK_QUEUE: taskQueue,
    WAREHOUSE_URL: db.url,
    SOURCE_URL: testData(),
    ...extra,
  };
}

/** Sum of a metric's samples whose labels include all of `labels`. */
test("the metrics endpoint serves the SDK's metrics and the pipeline's own", async () => {
  const db = await createTestDatabase();
  const taskQueue = uniqueQueue('metrics');
  const port = await freePort();
  const worker = new Background(
    'npm',
    ['run', '-s', 'worker'],
    workerEnv(db, taskQueue, { METRICS_ADDRESS: `127.0.0.1:${port}` }),
  );
  try {
    await worker.waitFor(/worker polling/);
    const start = '2018-11-02T09:00:00.000Z';
    const end = '2018-11-02T10:00:00.000Z';
    await env.client.workflow.execute('SparkifyEtl', {
      taskQueue,
      workflowId: `metrics-${taskQueue}`,
      args: [{ start, end }],
    });
    const expected = expectedFor(testData(), start, end);
    // Prometheus scrapes; the exporter publishes on its own period, so poll briefly.
    let text = '';
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (metric(text, 'sparkify_run_duration_seconds_count') >= 1) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    // a sample hour's steps are local activities (small hours take one workflow task)
    expect(text).toMatch(/^temporal_(local_)?activity_execution_latency_(bucket|count|sum)\{/m);
    expect(metric(text, 'temporal_workflow_completed', { task_queue: taskQueue })).toBe(1);
    expect(metric(text, 'sparkify_rows_loaded_total', { table: 'songplays', mode: 'replace' })).toBe(
      expected.songplays,
    );
    expect(metric(text, 'sparkify_rows_loaded_total', { table: 'users' })).toBe(expected.users);
    expect(metric(text, 'sparkify_rows_staged_total', { table: 'staging_events' })).toBe(expected.staged);
    expect(metric(text, 'sparkify_run_duration_seconds_count', { status: 'succeeded' })).toBe(1);
    expect(metric(text, 'sparkify_check_failures_total')).toBe(0);
    expect(metric(text, 'sparkify_runs_total', { status: 'succeeded' })).toBe(1);
  } finally {
    await worker.stop('SIGINT');
    await db.drop();
  }
});

test('two workers share a backfill; one is killed; the backfill completes with the right tables', async () => {
  const db = await createTestDatabase();
  const reference = await createTestDatabase();
  const taskQueue = uniqueQueue('two-workers');
  // the workers serve the deployment whose ids the backfill gives its runs (another's they would refuse)
  const envVars = workerEnv(db, taskQueue, { SPARKIFY_DEPLOYMENT: `two-${taskQueue}` });
  const a = new Background('npm', ['run', '-s', 'worker'], envVars);
  const b = new Background('npm', ['run', '-s', 'worker'], envVars);
  try {
    await Promise.all([a.waitFor(/worker polling/), b.waitFor(/worker polling/)]);
    const range = makeInterval('2018-11-01T00:00Z', '2018-11-02T00:00Z');
    const plan = await planBackfill(env.client, range, { reprocess: 'failed', deployment: `two-${taskQueue}` });
    let killed = false;
    const outcomes = await runBackfill(
      env.client,
      plan,
      { taskQueue, concurrency: 4, input: { heartbeatTimeout: '3s' } },
      (p) => {
        if (!killed && p.done >= 6) {
          killed = true;
          void a.stop('SIGKILL');
        }
      },
    );
    expect(killed).toBe(true);
    expect(outcomes.filter((o) => o.status !== 'completed')).toEqual([]);
    expect(outcomes).toHaveLength(24);
    // both workers did part of the work before one died (a small hour takes a few milliseconds: the killed one
    // may have staged runs, whose loads the other then did)
    expect(a.output).toMatch(/"message":"(staged events|loaded songplays)"/);
    expect(b.output).toContain('"message":"loaded songplays"');

    const refQueue = uniqueQueue('two-workers-ref');
    await withWorker(env, { taskQueue: refQueue, pool: reference.pool }, () =>
      env.client.workflow.execute('SparkifyEtl', { taskQueue: refQueue, workflowId: `ref-${refQueue}`, args: [range] }),
    );
    expect(await tableChecksums(db.pool)).toEqual(await tableChecksums(reference.pool));
  } finally {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
    await db.drop();
    await reference.drop();
  }
});
