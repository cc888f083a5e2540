/**
 * Outages, through the real commands: the warehouse goes away (a TCP proxy in front of PostgreSQL is closed,
 * which also cuts the connections through it) for longer than the retry budget, and for less; the Temporal
 * dev server is killed and restarted in the middle of a backfill.
 */
import { createServer, Socket, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { DEV_SERVER_ARGS } from '../src/local/stack';
import { hoursIn, makeInterval, workflowIdFor } from '../src/interval';
import { createTestDatabase, testData, uniqueQueue, type TestDatabase } from './support/helpers';
import { Background, freePort, runCommand } from './support/processes';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} missing: run through npm test`);
  return v;
}

/** A TCP proxy to PostgreSQL that a test can take down (refusing and cutting connections) and bring back. */
class Proxy {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async up(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = new Socket();
      outbound.connect(this.target.port, this.target.host);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

describe('the warehouse goes away', () => {
  let db: TestDatabase;
  let proxy: Proxy;
  let worker: Background;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new Proxy(await freePort(), { host: target.hostname, port: Number(target.port || 5432) });
    await proxy.up();
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    env = {
      ...process.env,
      TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
      TEMPORAL_NAMESPACE: 'default',
      TASK_QUEUE: uniqueQueue('outage'),
      WAREHOUSE_URL: viaProxy.toString(),
      SOURCE_URL: testData(),
    };
    worker = new Background('npm', ['run', '-s', 'worker'], env);
    await worker.waitFor(/worker polling task queue/);
  });

  afterAll(async () => {
    await worker?.stop('SIGINT');
    await proxy?.down();
    await db?.drop();
  });

  test('for longer than the retry budget: the run fails within budget + 1 minute, naming the real step', async () => {
    await proxy.down();
    const t0 = Date.now();
    const res = await runCommand(
      'npm',
      ['run', '-s', 'etl', '--', '--from', '2018-11-01T03:00Z', '--to', '2018-11-01T04:00Z', '--retry-budget', '10s'],
      env,
      150_000,
    );
    const tookMs = Date.now() - t0;
    expect(res.code).toBe(1);
    expect(tookMs).toBeLessThan(10_000 + 60_000);
    // Each retry is shown while it happens, with its cause and the next attempt's time.
    expect(res.stderr).toMatch(
      /stageEvents: attempt \d failed: (indexing the event files: )?\[ECONNREFUSED\].*; retrying at \d\d:\d\d:\d\dZ \(attempt \d of 4\)/,
    );
    // The run's failure is the step's, not the clean-up's, which could not reach the warehouse either.
    expect(res.stderr).toMatch(
      /failed: stageEvents: (indexing the event files: )?\[ECONNREFUSED\] connect ECONNREFUSED 127\.0\.0\.1:\d+ \(gave up after retrying for the run's retry budget of 10s/,
    );
    expect(res.stderr).not.toMatch(/failed: dropRunStaging/);
    // etl_runs could not take the record either, and the failure says so
    expect(res.stderr).toMatch(/\(not recorded in etl_runs: recording the run in etl_runs: \[ECONNREFUSED\]/);
    await worker.waitFor(/could not record the failed run in etl_runs/, 10_000);
  });

  test('for less than the retry budget: the run waits it out and succeeds', async () => {
    await proxy.down();
    const etl = new Background(
      'npm',
      ['run', '-s', 'etl', '--', '--from', '2018-11-01T04:00Z', '--to', '2018-11-01T05:00Z', '--retry-budget', '2m'],
      env,
    );
    await etl.waitFor(/attempt \d+ failed: (indexing the event files: )?\[ECONNREFUSED\]/, 60_000);
    await proxy.up();
    expect(await etl.exit(120_000)).toBe(0);
    expect(etl.output).toMatch(/checks: \d+\/\d+ passed/);
  });
});

describe('the Temporal server restarts in the middle of a backfill', () => {
  let dir: string;
  let port: number;
  let server: Background | undefined;
  let worker: Background | undefined;
  let db: TestDatabase;

  const startServer = () =>
    new Background(
      need('SPARKIFY_TEST_TEMPORAL_CLI'),
      [
        'server',
        'start-dev',
        '--headless',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--http-port',
        '0',
        '--metrics-port',
        '0',
        '--db-filename',
        path.join(dir, 'temporal.db'),
        '--log-level',
        'error',
        ...DEV_SERVER_ARGS,
      ],
      process.env,
    );

  async function waitForServer(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const c = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: '2s' });
        await c.close();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-restart-'));
    port = await freePort();
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await server?.stop('SIGKILL');
    await db?.drop();
  });

  test("the backfill's summary matches the runs' real outcomes", async () => {
    server = startServer();
    await waitForServer();
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_NAMESPACE: 'default',
      TASK_QUEUE: uniqueQueue('restart'),
      WAREHOUSE_URL: db.url,
      SOURCE_URL: testData(),
    };
    worker = new Background('npm', ['run', '-s', 'worker'], env);
    await worker.waitFor(/worker polling task queue/);

    // The sample's 72 hours one at a time: a few seconds, so the progress line (every 2 s) shows some done.
    const range = makeInterval('2018-11-01T00:00Z', '2018-11-04T00:00Z');
    const backfill = new Background(
      'npm',
      ['run', '-s', 'backfill', '--', '--from', range.start, '--to', range.end, '--concurrency', '1'],
      env,
    );
    await backfill.waitFor(/done ([3-9]|[1-6]\d)\b/, 120_000);
    await server.stop('SIGKILL');
    // Down for longer than the client's own gRPC retries cover (about 30 s: they hide a short restart).
    await new Promise((r) => setTimeout(r, 45_000));
    server = startServer();
    await waitForServer();
    const code = await backfill.exit(240_000);

    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      const client = new Client({ connection });
      const statuses = await Promise.all(
        hoursIn(range).map(async (h) => (await client.workflow.getHandle(workflowIdFor(h)).describe()).status.name),
      );
      const completed = statuses.filter((s) => s === 'COMPLETED').length;
      const failed = statuses.length - completed;
      expect(backfill.output).toMatch(new RegExp(`^completed\\s+${completed}$`, 'm'));
      expect(backfill.output).toMatch(new RegExp(`^failed\\s+${failed}$`, 'm'));
      expect(backfill.output).not.toMatch(/^unknown/m);
      expect(backfill.output).toContain('lost the connection to Temporal'); // the restart was seen, and survived
      expect(completed).toBe(72);
      expect(code).toBe(0);
    } finally {
      await connection.close();
    }
  });
});
