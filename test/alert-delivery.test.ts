/**
 * The alert outbox's delivery (src/alert-delivery.ts) against a real PostgreSQL and a local HTTP receiver:
 * several workers delivering at once post each alert once, with either dialect's claim (Redshift's claim is
 * plain SQL that PostgreSQL runs too). The worker-process behaviour a user sees (a hanging receiver, giving
 * up) is in alerts.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertBackoffMs, startAlertDelivery } from '../src/alert-delivery';
import { postgres, redshift, type Dialect } from '../src/warehouse/dialect';
import { createTestDatabase, type TestDatabase } from './support/helpers';

let db: TestDatabase;
let server: Server;
let url: string;
const keys: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      keys.push(String(req.headers['idempotency-key']));
      // a receiver slow enough that the workers' rounds overlap
      setTimeout(() => res.writeHead(200).end('ok'), 50);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await db?.drop();
});

const quiet = { info: () => undefined, warn: () => undefined };
const settings = () => ({ webhookUrl: url, uiUrl: 'http://ui', namespace: 'default', secrets: [] });

async function queue(n: number, label: string): Promise<string[]> {
  const runIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const runId = `${label}-${i}`;
    runIds.push(runId);
    const startMs = Date.UTC(2018, 10, 4, 0) + i * 3_600_000;
    await db.pool.query(
      postgres.queueAlert({
        workflowId: `alerts-unit-${label}-${i}`,
        runId,
        startMs,
        endMs: startMs + 3_600_000,
        status: 'failed',
        step: 'stageEvents',
        message: `stageEvents: hour ${i} failed`,
        nowMs: Date.now(),
      }),
    );
  }
  return runIds;
}

async function states(label: string): Promise<Record<string, number>> {
  const res = await db.pool.query<{ state: string; n: string }>(
    `SELECT state, count(*) AS n FROM alert_outbox WHERE run_id LIKE $1 GROUP BY state`,
    [`${label}-%`],
  );
  return Object.fromEntries(res.rows.map((r) => [r.state, Number(r.n)]));
}

test.each([
  ['postgres', postgres],
  ['redshift', redshift],
] as [string, Dialect][])(
  'four workers delivering at once post each of 25 alerts exactly once (%s claim)',
  async (label, dialect) => {
    const runIds = await queue(25, label);
    const workers = Array.from({ length: 4 }, () =>
      startAlertDelivery({
        pool: db.pool,
        dialect,
        settings: settings(),
        log: quiet,
        retryForMs: 60_000,
        pollEveryMs: 50,
      }),
    );
    try {
      const deadline = Date.now() + 60_000;
      while ((await states(label)).sent !== 25) {
        if (Date.now() > deadline) throw new Error(`not all sent: ${JSON.stringify(await states(label))}`);
        await Promise.all(workers.map((w) => w.deliverDue()));
      }
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    const mine = keys.filter((k) => k.startsWith(`${label}-`)).sort();
    expect(mine).toEqual(runIds.map((id) => `${id}:failed`).sort());
  },
);

test('queueing is once per run and kind; "recovered" only after a failed run of the hour', async () => {
  const hour = { startMs: Date.UTC(2018, 10, 4, 12), endMs: Date.UTC(2018, 10, 4, 13) };
  const base = { workflowId: 'alerts-unit-recovery', ...hour, step: null, message: null, nowMs: Date.now() };
  const queued = async (runId: string, status: string) =>
    (await db.pool.query(postgres.queueAlert({ ...base, runId, status }))).rowCount;
  const record = (runId: string, status: string, finished: string) =>
    db.pool.query(
      `INSERT INTO etl_runs (workflow_id, run_id, interval_start, interval_end, status, rows, checks, durations_ms, finished_at)
       VALUES ('alerts-unit-recovery', $1, '2018-11-04T12:00', '2018-11-04T13:00', $2, '{}', '[]', '{}', $3)`,
      [runId, status, finished],
    );
  await record('r1', 'succeeded', '2018-11-04T13:05');
  expect(await queued('r1', 'succeeded')).toBe(0); // a first success: nothing to say
  await record('r2', 'failed', '2018-11-04T14:05');
  expect(await queued('r2', 'failed')).toBe(1);
  expect(await queued('r2', 'failed')).toBe(0); // recordRun retried: still one alert
  await record('r3', 'succeeded', '2018-11-04T15:05');
  expect(await queued('r3', 'succeeded')).toBe(1); // recovered
  await record('r4', 'succeeded', '2018-11-04T16:05');
  expect(await queued('r4', 'succeeded')).toBe(0);
  const kinds = await db.pool.query(`SELECT run_id, kind FROM alert_outbox WHERE workflow_id = $1 ORDER BY run_id`, [
    'alerts-unit-recovery',
  ]);
  expect(kinds.rows).toEqual([
    { run_id: 'r2', kind: 'failed' },
    { run_id: 'r3', kind: 'recovered' },
  ]);
});

test('attempts back off from 2 s, doubling, to at most 5 minutes', () => {
  expect([1, 2, 3, 4, 8, 9, 20].map(alertBackoffMs)).toEqual([2_000, 4_000, 8_000, 16_000, 256_000, 300_000, 300_000]);
});
