/**
 * The failure webhook (ALERT_WEBHOOK_URL), end to end: the real worker and `etl` as child processes, the
 * real dev server and PostgreSQL, and local HTTP receivers on the loopback interface standing in for Slack.
 * Alerts are queued in the outbox with the run's etl_runs row and delivered by the worker process outside the
 * run, so each test waits (with a deadline) for what the receiver gets.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { alertBody, mask } from '../src/alerts';
import { makeInterval, workflowIdFor, type Interval } from '../src/interval';
import { historyText } from './support/history';
import { createTestDatabase, need, testData, uniqueQueue, type TestDatabase } from './support/helpers';
import { Background, runCommand } from './support/processes';

const PASSWORD = 'alert-test-Pa55word-never-sent';

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

type Behaviour = 'ok' | 'hang' | 'unavailable' | `redirect to ${string}`;

/** A webhook receiver that answers 200, holds every request unanswered until release(), or answers 503. */
class Receiver {
  readonly received: Received[] = [];
  /** Requests answered 200 to a client still waiting for the answer: the alerts delivered. */
  acknowledged = 0;
  private held: (() => void)[] = [];
  private server: Server;

  constructor(private behaviour: Behaviour) {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        this.received.push({ headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> });
        const answer = () => {
          if (this.behaviour === 'unavailable') return void res.writeHead(503).end('down for maintenance');
          if (this.behaviour.startsWith('redirect to ')) {
            return void res.writeHead(307, { location: this.behaviour.slice('redirect to '.length) }).end();
          }
          if (req.socket.destroyed) return; // the worker gave up on this request (its timeout)
          res.on('finish', () => this.acknowledged++);
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        };
        if (this.behaviour === 'hang') this.held.push(answer);
        else answer();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Answers the requests held so far, and every later one at once. */
  release(): void {
    this.behaviour = 'ok';
    for (const answer of this.held.splice(0)) answer();
  }

  close(): Promise<unknown> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let db: TestDatabase;
const receivers: Receiver[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await db?.drop();
});

async function receiver(behaviour: Behaviour): Promise<{ receiver: Receiver; url: string }> {
  const r = new Receiver(behaviour);
  receivers.push(r);
  return { receiver: r, url: await r.listen() };
}

function workerEnv(webhookUrl: string, extra: NodeJS.ProcessEnv = {}) {
  const deployment = `alerts-${randomUUID().slice(0, 8)}`;
  const url = new URL(db.url);
  url.password = PASSWORD; // trust auth ignores it; the worker holds it and must never send it
  return {
    deployment,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
      TASK_QUEUE: uniqueQueue('alerts'),
      WAREHOUSE_URL: url.toString(),
      SOURCE_URL: testData(),
      WORKFLOW_BUNDLE: need('SPARKIFY_TEST_BUNDLE'),
      SPARKIFY_DEPLOYMENT: deployment,
      SPARKIFY_UI_URL: 'http://temporal-ui.example:8080/',
      ALERT_WEBHOOK_URL: webhookUrl,
      ...extra,
    },
  };
}

const etlOf =
  (env: NodeJS.ProcessEnv, hour: Interval) =>
  (...extra: string[]) =>
    runCommand('npm', ['run', '-s', 'etl', '--', '--from', hour.start, '--to', hour.end, ...extra], env);

async function outbox(workflowId: string) {
  return (
    await db.pool.query<{ run_id: string; kind: string; state: string; attempts: number; last_error: string | null }>(
      `SELECT run_id, kind, state, attempts, last_error FROM alert_outbox WHERE workflow_id = $1 ORDER BY created_at`,
      [workflowId],
    )
  ).rows;
}

test('a failed run posts exactly one alert without secrets; a successful re-run of the hour posts "recovered"', async () => {
  const { receiver: hook, url: hookUrl } = await receiver('ok');
  const { env, deployment } = workerEnv(hookUrl);
  const hour = makeInterval('2018-11-02T07:00Z', '2018-11-02T08:00Z');
  const workflowId = workflowIdFor(hour, deployment);
  const worker = new Background('npm', ['run', '-s', 'worker'], env);
  try {
    await worker.waitFor(/worker polling task queue/);
    const etl = etlOf(env, hour);

    const failed = await etl('--source', '/no/such/alert/source');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`${workflowId} failed: stageEvents: `);
    await until('the failed alert is delivered', () => hook.acknowledged === 1);
    expect(hook.received).toHaveLength(1);
    const [alert] = hook.received;
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
    await until('the recovered alert is delivered', () => hook.acknowledged === 2);
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]!.body).toMatchObject({ kind: 'recovered', hour: hour.start, workflowId, step: null });
    expect(hook.received[1]!.body.text).toMatch(/^:large_green_circle: Sparkify ETL recovered: 2018-11-02T07:00Z/);
    expect(hook.received[1]!.body.runId).not.toBe(alert!.body.runId);

    // A further success of a healthy hour queues nothing: the outbox row is written with the run's record, so
    // once `etl` has printed the outcome, the outbox is complete.
    expect((await etl()).code).toBe(0);
    expect((await outbox(workflowId)).map((r) => [r.kind, r.state])).toEqual([
      ['failed', 'sent'],
      ['recovered', 'sent'],
    ]);
    expect(hook.received).toHaveLength(2);
    expect(worker.output).not.toContain(PASSWORD);
  } finally {
    await worker.stop('SIGINT');
  }
});

test('a receiver that never answers does not hold up the run: `etl` prints the failure, the alert follows once it answers', async () => {
  const { receiver: hook, url: hookUrl } = await receiver('hang');
  const { env, deployment } = workerEnv(hookUrl);
  const hour = makeInterval('2018-11-02T19:00Z', '2018-11-02T20:00Z');
  const workflowId = workflowIdFor(hour, deployment);
  const worker = new Background('npm', ['run', '-s', 'worker'], env);
  const connection = await Connection.connect({ address: need('SPARKIFY_TEST_TEMPORAL_ADDRESS') });
  try {
    await worker.waitFor(/worker polling task queue/);
    // The receiver answers nothing until `etl` has exited: a run that waited for it would never end.
    const failed = await etlOf(env, hour)('--source', '/no/such/hanging/source');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`${workflowId} failed: stageEvents: `);
    expect(hook.acknowledged).toBe(0);
    // The run's history has no webhook step: the alert is no part of the run.
    const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    const markers = (history.events ?? []).filter(
      (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
    );
    expect(historyText(markers)).toContain('recordRun');
    expect(historyText(markers)).not.toContain('alertRun');
    const [queued] = await outbox(workflowId);
    expect(queued).toMatchObject({ kind: 'failed', state: 'pending' });

    hook.release();
    await until(
      'the alert is delivered once the receiver answers',
      async () => (await outbox(workflowId))[0]?.state === 'sent',
    );
    await worker.waitFor(/alert sent: failed/);
    // Delivered exactly once; every copy a timed-out attempt left carries the same idempotency key.
    expect(hook.acknowledged).toBe(1);
    expect(new Set(hook.received.map((r) => r.headers['idempotency-key']))).toEqual(
      new Set([`${queued!.run_id}:failed`]),
    );
  } finally {
    await connection.close();
    await worker.stop('SIGINT');
  }
});

test('an alert the receiver does not take within ALERT_RETRY_FOR is given up with a logged line', async () => {
  const { receiver: hook, url: hookUrl } = await receiver('unavailable');
  const { env, deployment } = workerEnv(hookUrl, { ALERT_RETRY_FOR: '3s' });
  const hour = makeInterval('2018-11-02T02:00Z', '2018-11-02T03:00Z');
  const workflowId = workflowIdFor(hour, deployment);
  const worker = new Background('npm', ['run', '-s', 'worker'], env);
  try {
    await worker.waitFor(/worker polling task queue/);
    const failed = await etlOf(env, hour)('--source', '/no/such/unavailable/source');
    expect(failed.code).toBe(1);
    await worker.waitFor(
      new RegExp(
        `gave up on the failed alert of ${workflowId} after \\d+ attempt\\(s\\) in \\w+: the alert webhook \\(ALERT_WEBHOOK_URL\\) answered 503 Service Unavailable \\(ALERT_RETRY_FOR\\)`,
      ),
    );
    expect(worker.output).toMatch(/could not send the failed alert; trying again at /);
    const [row] = await outbox(workflowId);
    expect(row).toMatchObject({ state: 'abandoned', last_error: expect.stringContaining('503') });
    expect(hook.received.length).toBe(row!.attempts);
    expect(hook.acknowledged).toBe(0);
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

test('a receiver that redirects elsewhere is not followed: the alert is never posted to the other host', async () => {
  const { receiver: elsewhere, url: elsewhereUrl } = await receiver('ok');
  const { url: hookUrl } = await receiver(`redirect to ${elsewhereUrl}`);
  const { env, deployment } = workerEnv(hookUrl, { ALERT_RETRY_FOR: '3s' });
  const hour = makeInterval('2018-11-02T03:00Z', '2018-11-02T04:00Z');
  const workflowId = workflowIdFor(hour, deployment);
  const worker = new Background('npm', ['run', '-s', 'worker'], env);
  try {
    await worker.waitFor(/worker polling task queue/);
    expect((await etlOf(env, hour)('--source', '/no/such/redirect/source')).code).toBe(1);
    await worker.waitFor(new RegExp(`gave up on the failed alert of ${workflowId} after \\d+ attempt\\(s\\)`));
    expect(elsewhere.received).toEqual([]);
    const [row] = await outbox(workflowId);
    expect(row).toMatchObject({ state: 'abandoned' });
  } finally {
    await worker.stop('SIGINT');
  }
});
