import { randomUUID } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client as PgClient, type Pool } from 'pg';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { createActivities, type RunChecksDeps } from '../../src/activities';
import { postgres, redshift, type Dialect } from '../../src/warehouse/dialect';
import { programEnv } from './processes';
import { createPool } from '../../src/warehouse/pool';

export function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\` (jest's global setup sets it)`);
  return v;
}

export const testData = () => need('SPARKIFY_TEST_DATA');
export const testTmp = () => need('SPARKIFY_TEST_TMP');

let runtimeQuiet = false;
/** Worker logs at ERROR in tests (a failed workflow is logged at WARN, and tests fail workflows on purpose); failures still show. */
function quietRuntime(): void {
  if (runtimeQuiet) return;
  runtimeQuiet = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
  const client = new PgClient({ connectionString: need('SPARKIFY_TEST_PG_ADMIN_URL') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database with the schema applied, copied from the run's template (fast). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `sparkify_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const template = need('SPARKIFY_TEST_PG_TEMPLATE');
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = new URL(need('SPARKIFY_TEST_PG_ADMIN_URL'));
  url.pathname = `/${name}`;
  const pool = createPool({ url: url.toString(), max: 12 });
  return {
    name,
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** What tests use of a Temporal environment: its client, and the connection and namespace workers poll with. */
export type TemporalEnv = Pick<TestWorkflowEnvironment, 'client' | 'nativeConnection' | 'namespace'>;

/**
 * The test file's Temporal environment: a connection to the run's dev server (jest's global setup starts it),
 * made in beforeAll and torn down in afterAll. Call it at the top of a file or describe block, before the hooks
 * that use it; read its properties in those hooks and in tests. Workers: withWorker.
 */
export function useTemporalEnv(): TemporalEnv {
  const env = inBeforeAll(
    'useTemporalEnv()',
    () => {
      quietRuntime();
      return TestWorkflowEnvironment.createFromExistingServer({ address: need('SPARKIFY_TEST_TEMPORAL_ADDRESS') });
    },
    (e) => e.teardown(),
  );
  return {
    get client() {
      return env().client;
    },
    get nativeConnection() {
      return env().nativeConnection;
    },
    get namespace() {
      return env().namespace;
    },
  };
}

/**
 * The test file's database (createTestDatabase), created in beforeAll and dropped in afterAll; called like
 * useTemporalEnv.
 */
export function useTestDatabase(): TestDatabase {
  const db = inBeforeAll('useTestDatabase()', createTestDatabase, (d) => d.drop());
  return {
    get name() {
      return db().name;
    },
    get url() {
      return db().url;
    },
    get pool() {
      return db().pool;
    },
    drop: () => db().drop(),
  };
}

/** Something made in beforeAll and ended in afterAll; the function returned reads it. */
function inBeforeAll<T>(what: string, make: () => Promise<T>, end: (value: T) => Promise<void>): () => T {
  let value: T | undefined;
  beforeAll(async () => {
    value = await make();
  });
  afterAll(async () => {
    if (value !== undefined) await end(value);
  });
  return () => {
    if (value === undefined)
      throw new Error(`${what} is set up in beforeAll: read it in a hook declared after it, or in a test`);
    return value;
  };
}

/**
 * The environment of a command run as a user runs it (npm run etl, late, status, ...), against the tests'
 * dev server, one deployment and task queue, a database and a source folder.
 */
export function commandEnv(opts: {
  taskQueue: string;
  deployment: string;
  warehouseUrl: string;
  source: string;
}): NodeJS.ProcessEnv {
  // the settings the test gives, never the calling shell's (a developer's METRICS_ADDRESS, say)
  return programEnv({
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    TASK_QUEUE: opts.taskQueue,
    SPARKIFY_DEPLOYMENT: opts.deployment,
    WAREHOUSE_URL: opts.warehouseUrl,
    SOURCE_URL: opts.source,
  });
}

export function uniqueQueue(label: string): string {
  return `test-${label}-${randomUUID().slice(0, 8)}`;
}

/** What an in-process worker of a test runs with: the real activities over these dependencies. */
export interface TestWorkerOptions {
  taskQueue: string;
  pool: Pool;
  /** The worker's SOURCE_URL (default: the run's sample data). */
  source?: string;
  dialect?: Dialect;
  checks?: RunChecksDeps['checks'];
  songListingMaxAgeMs?: number;
}

/** Runs `fn` while an in-process worker with the real activities serves `opts.taskQueue`. */
export async function withWorker<T>(env: TemporalEnv, opts: TestWorkerOptions, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: opts.taskQueue,
    workflowBundle: { codePath: need('SPARKIFY_TEST_BUNDLE') },
    activities: createActivities({
      pool: opts.pool,
      defaultSource: opts.source ?? testData(),
      dialect: opts.dialect,
      ...(opts.checks ? { checks: opts.checks } : {}),
      songListingMaxAgeMs: opts.songListingMaxAgeMs,
    }),
  });
  return worker.runUntil(fn());
}

/**
 * The Redshift dialect's statements run on PostgreSQL (no Redshift cluster here): PostgreSQL's staging
 * (COPY FROM STDIN) with every other statement from the Redshift dialect, except the sweep's date arithmetic
 * (dateadd/getdate), which PostgreSQL does not have.
 */
export const redshiftLoadsOnPostgres: Dialect = {
  ...redshift,
  migrationsDir: postgres.migrationsDir,
  staging: postgres.staging,
  staleRunStaging: postgres.staleRunStaging,
};

/**
 * Waits until a backend of the test database matches `where` (a condition on pg_stat_activity), polling
 * every `everyMs`; fails after a minute saying it never saw `what`.
 */
export async function untilBackend(db: TestDatabase, where: string, what: string, everyMs: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  const sql = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND ${where}`;
  while ((await db.pool.query<{ n: number }>(sql, [db.name])).rows[0]!.n === 0) {
    if (Date.now() > deadline) throw new Error(`never saw ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function count(pool: Pool, sql: string, values: unknown[] = []): Promise<number> {
  const res = await pool.query(sql, values);
  return Number(Object.values(res.rows[0] as Record<string, unknown>)[0]);
}

/**
 * A copy of the run's sample data named `label`, with the lines of one file changed by `edit` (which gets the
 * file's lines, 0-based, and changes them in place). Returns the copy's folder.
 */
export async function sampleWithEditedFile(
  label: string,
  file: string,
  edit: (lines: string[]) => void,
): Promise<string> {
  const dir = path.join(testTmp(), `${label}-${process.pid}`);
  await mkdir(dir, { recursive: true });
  await cp(testData(), dir, { recursive: true });
  const lines = (await readFile(path.join(dir, file), 'utf8')).split('\n');
  edit(lines);
  await writeFile(path.join(dir, file), lines.join('\n'));
  return dir;
}
