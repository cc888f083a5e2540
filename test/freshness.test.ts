/**
 * Freshness gauges and FRESHNESS_SLA, read as Prometheus reads them: the real worker (child process) over a
 * real PostgreSQL whose etl_runs holds recent hours loaded, failed and missing.
 */
import { randomUUID } from 'node:crypto';
import { floorToHour, fromMs, HOUR_MS, workflowIdFor } from '../src/interval';
import { postgres } from '../src/warehouse/dialect';
import { createTestDatabase, need, testData, uniqueQueue, type TestDatabase } from './support/helpers';
import { metric } from './support/metrics';
import { Background, freePort } from './support/processes';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

test('the worker exports loaded-through and failed hours, and logs and counts a FRESHNESS_SLA breach', async () => {
  const deployment = `fresh-${randomUUID().slice(0, 8)}`;
  const now = floorToHour(Date.now());
  // hours ending 5..1 hours ago: loaded, loaded, failed, loaded, and the last one missing
  const states = ['succeeded', 'succeeded', 'failed', 'succeeded'] as const;
  for (const [i, status] of states.entries()) {
    const startMs = now - (5 - i) * HOUR_MS;
    for (const statement of postgres.recordRun({
      workflowId: workflowIdFor(fromMs({ startMs, endMs: startMs + HOUR_MS }), deployment),
      runId: randomUUID(),
      startMs,
      endMs: startMs + HOUR_MS,
      status,
      rows: { staging_events: 10 },
      checks: [],
      durationsMs: {},
      ...(status === 'failed' ? { failedStep: 'stageEvents', error: 'stageEvents: boom' } : {}),
    })) {
      await db.pool.query(statement);
    }
  }
  const port = await freePort();
  const worker = new Background('npm', ['run', '-s', 'worker'], {
    ...process.env,
    TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
    TASK_QUEUE: uniqueQueue('fresh'),
    WAREHOUSE_URL: db.url,
    SOURCE_URL: testData(),
    WORKFLOW_BUNDLE: need('SPARKIFY_TEST_BUNDLE'),
    SPARKIFY_DEPLOYMENT: deployment,
    METRICS_ADDRESS: `127.0.0.1:${port}`,
    FRESHNESS_SLA: '30m',
  });
  try {
    await worker.waitFor(/freshness behind FRESHNESS_SLA/);
    const line = worker.output.split('\n').find((l) => l.includes('freshness behind FRESHNESS_SLA'))!;
    const loadedThrough = new Date(now - 3 * HOUR_MS).toISOString();
    expect(JSON.parse(line)).toMatchObject({ level: 'WARN', loadedThrough, slaMinutes: 30, failedHours: 1 });
    let text = '';
    const deadline = Date.now() + 30_000;
    while (!/^sparkify_loaded_through_seconds/m.test(text)) {
      if (Date.now() > deadline) throw new Error(`no freshness gauges in /metrics:\n${text}`);
      text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(metric(text, 'sparkify_loaded_through_seconds')).toBe((now - 3 * HOUR_MS) / 1000);
    expect(metric(text, 'sparkify_failed_hours')).toBe(1);
    expect(metric(text, 'sparkify_freshness_sla_seconds')).toBe(1800);
    expect(metric(text, 'sparkify_freshness_lag_seconds')).toBeGreaterThanOrEqual(3 * 3600);
    expect(metric(text, 'sparkify_freshness_breaches_total')).toBe(1);
  } finally {
    await worker.stop('SIGINT');
  }
});
