/**
 * The failure webhook (ALERT_WEBHOOK_URL), end to end: the real worker and `etl` as child processes, the
 * real dev server and PostgreSQL, and a local HTTP receiver on the loopback interface standing in for Slack.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertBody, mask } from '../src/alerts';
import { makeInterval, workflowIdFor } from '../src/interval';
import { createTestDatabase, need, testData, uniqueQueue, type TestDatabase } from './support/helpers';
import { Background, runCommand } from './support/processes';

const PASSWORD = 'alert-test-Pa55word-never-sent';

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

let db: TestDatabase;
let receiver: Server;
const received: Received[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  await db?.drop();
});

test('a failed run posts exactly one alert without secrets; a successful re-run of the hour posts "recovered"', async () => {
  const deployment = `alerts-${randomUUID().slice(0, 8)}`;
  const url = new URL(db.url);
  url.password = PASSWORD; // trust auth ignores it; the worker holds it and must never send it
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
    TASK_QUEUE: uniqueQueue('alerts'),
    WAREHOUSE_URL: url.toString(),
    SOURCE_URL: testData(),
    WORKFLOW_BUNDLE: need('SPARKIFY_TEST_BUNDLE'),
    SPARKIFY_DEPLOYMENT: deployment,
    SPARKIFY_UI_URL: 'http://temporal-ui.example:8080/',
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
  };
  const hour = makeInterval('2018-11-02T07:00Z', '2018-11-02T08:00Z');
  const workflowId = workflowIdFor(hour, deployment);
  const worker = new Background('npm', ['run', '-s', 'worker'], env);
  try {
    await worker.waitFor(/worker polling task queue/);
    const etl = (...extra: string[]) =>
      runCommand('npm', ['run', '-s', 'etl', '--', '--from', hour.start, '--to', hour.end, ...extra], env);

    const failed = await etl('--source', '/no/such/alert/source');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`${workflowId} failed: stageEvents: `);
    // The alert is sent before the run ends, so it is here once `etl` has printed the failure.
    expect(received).toHaveLength(1);
    const [alert] = received;
    expect(alert!.headers['content-type']).toBe('application/json');
    expect(alert!.body).toMatchObject({
      kind: 'failed',
      hour: hour.start,
      interval: hour,
      workflowId,
      step: 'stageEvents',
      message: expect.stringMatching(/^stageEvents: .*\/no\/such\/alert\/source/),
      url: expect.stringMatching(
        new RegExp(
          `^http://temporal-ui\\.example:8080/namespaces/default/workflows/${encodeURIComponent(workflowId)}/[0-9a-f-]{36}/history$`,
        ),
      ),
    });
    expect(alert!.body.text).toMatch(
      /^:red_circle: Sparkify ETL failed for 2018-11-02T07:00Z \.\. 2018-11-02T08:00Z: stageEvents: /,
    );
    expect(alert!.raw).not.toContain(PASSWORD);
    expect(alert!.headers['idempotency-key']).toBe(`${alert!.body.runId as string}:failed`);

    const ok = await etl();
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(received).toHaveLength(2);
    expect(received[1]!.body).toMatchObject({ kind: 'recovered', hour: hour.start, workflowId, step: null });
    expect(received[1]!.body.text).toMatch(/^:large_green_circle: Sparkify ETL recovered: 2018-11-02T07:00Z/);
    expect(received[1]!.body.runId).not.toBe(alert!.body.runId);

    // A further success of a healthy hour sends nothing.
    expect((await etl()).code).toBe(0);
    expect(received).toHaveLength(2);
    expect(worker.output).not.toContain(PASSWORD);
  } finally {
    await worker.stop('SIGINT');
  }
});

test('a cause that quotes a secret or a URL with credentials is masked before it is sent', () => {
  const body = alertBody(
    { webhookUrl: 'http://127.0.0.1/x', uiUrl: 'http://ui', namespace: 'default', secrets: ['hunter22'] },
    {
      kind: 'failed',
      workflowId: 'sparkify-etl-2018-11-02T08:00:00Z',
      runId: 'r1',
      interval: { start: '2018-11-02T07:00:00.000Z', end: '2018-11-02T08:00:00.000Z' },
      step: 'load songplays',
      message: 'load songplays: cannot connect to postgres://etl:hunter22@db:5432/x (token hunter22)',
    },
  );
  expect(JSON.stringify(body)).not.toContain('hunter22');
  expect(body.message).toBe('load songplays: cannot connect to postgres://etl:***@db:5432/x (token ***)');
  expect(mask('s3://bucket/p', [])).toBe('s3://bucket/p');
});
