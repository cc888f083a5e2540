/**
 * Freshness gauges and FRESHNESS_SLA, read as Prometheus reads them: the real worker (child process) over a
 * real PostgreSQL whose etl_runs holds recent hours loaded, failed and missing.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
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

test('the worker exports loaded-through, failed and stale hours, and logs and counts a FRESHNESS_SLA breach', async () => {
  const deployment = `fresh-${randomUUID().slice(0, 8)}`;
  const now = floorToHour(Date.now());
  // hours starting 6..2 hours ago: loaded, loaded, failed, loaded, empty (no events), then the last one missing;
  // the failed hour does not hold "loaded through" back (it is counted as failed), the empty one counts
  const states = ['succeeded', 'succeeded', 'failed', 'succeeded', 'succeeded'] as const;
  for (const [i, status] of states.entries()) {
    const startMs = now - (6 - i) * HOUR_MS;
    for (const statement of postgres.recordRun({
      workflowId: workflowIdFor(fromMs({ startMs, endMs: startMs + HOUR_MS }), deployment),
      runId: randomUUID(),
      startMs,
      endMs: startMs + HOUR_MS,
      status,
      rows: { staging_events: i === 4 ? 0 : 10 },
      checks: [],
      durationsMs: {},
      ...(status === 'failed' ? { failedStep: 'stageEvents', error: 'stageEvents: boom' } : {}),
    })) {
      await db.pool.query(statement);
    }
  }
  // The hour 5 hours ago is stale: the source index holds other lines for it than its run read.
  const staleStart = new Date(now - 5 * HOUR_MS).toISOString().slice(0, 19);
  const location = path.resolve(testData());
  const late = 'log_data/late-delivery.json';
  await db.pool.query(
    `INSERT INTO run_hour_sources (run_id, workflow_id, source, hour_start, sources)
     SELECT run_id, workflow_id, $1, $2::timestamp, '{}'::jsonb FROM etl_runs WHERE interval_start = $2::timestamp`,
    [location, staleStart],
  );
  await db.pool.query(`INSERT INTO source_files (source, path, version, size, lines) VALUES ($1, $2, 'v1', 10, 1)`, [
    location,
    late,
  ]);
  await db.pool.query(
    `INSERT INTO source_file_hours (source, path, hour_start, lines, digest) VALUES ($1, $2, $3::timestamp, 1, 'd')`,
    [location, late, staleStart],
  );
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
    const loadedThrough = new Date(now - HOUR_MS).toISOString();
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
    expect(metric(text, 'sparkify_loaded_through_seconds')).toBe((now - HOUR_MS) / 1000);
    expect(metric(text, 'sparkify_failed_hours')).toBe(1);
    // a stale hour is still loaded (loaded through is unchanged), and counted by itself
    expect(metric(text, 'sparkify_stale_hours')).toBe(1);
    expect(metric(text, 'sparkify_freshness_sla_seconds')).toBe(1800);
    expect(metric(text, 'sparkify_freshness_lag_seconds')).toBeGreaterThanOrEqual(3600);
    expect(metric(text, 'sparkify_freshness_breaches_total')).toBe(1);
  } finally {
    await worker.stop('SIGINT');
  }
});
