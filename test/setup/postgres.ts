/**
 * The PostgreSQL server the tests create their databases on, chosen as `npm start` chooses its warehouse:
 * TEST_PG_URL when set; else the server on 127.0.0.1:5432 if one answers; else (or with TEST_PG_EMBEDDED=1)
 * an embedded PostgreSQL started for this test run, so the suite needs no PostgreSQL installed.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { settingsEnv } from '../../src/config';
import { portOpen, startEmbeddedPostgres } from '../../src/local/stack';
import { migrate } from '../../src/warehouse/migrate';
import { createPool } from '../../src/warehouse/pool';
import { freePort } from '../support/processes';

export const DEFAULT_TEST_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestPostgres {
  /** A database the tests may connect to in order to create and drop theirs. */
  adminUrl: string;
  kind: 'configured' | 'local' | 'embedded';
  stop(): Promise<void>;
}

/** Which server the tests use, and its admin URL unless it is to be started. */
export async function chooseTestPostgres(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ kind: TestPostgres['kind']; adminUrl?: string }> {
  const settings = settingsEnv(env);
  if (settings.TEST_PG_EMBEDDED === '1') return { kind: 'embedded' };
  if (settings.TEST_PG_URL) return { kind: 'configured', adminUrl: settings.TEST_PG_URL };
  if (await portOpen(5432)) return { kind: 'local', adminUrl: DEFAULT_TEST_PG_URL };
  return { kind: 'embedded' };
}

export async function startTestPostgres(env: NodeJS.ProcessEnv = process.env): Promise<TestPostgres> {
  const choice = await chooseTestPostgres(env);
  if (choice.adminUrl) return { adminUrl: choice.adminUrl, kind: choice.kind, stop: async () => undefined };
  // mkdtemp makes a private folder; as root the embedded server runs as the `postgres` user, who must enter it.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-test-pg-'));
  await chmod(dir, 0o755);
  try {
    const server = await startEmbeddedPostgres(dir, await freePort(), 'TEST_PG_URL');
    return {
      adminUrl: `${server.url}/postgres`,
      kind: 'embedded',
      async stop() {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function withAdmin<T>(adminUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`the tests need a PostgreSQL server at ${adminUrl} (set TEST_PG_URL): ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/**
 * `name` created afresh (dropped first if it exists) with the schema applied: the tests' template, from which
 * every test database is copied, and the benchmarks' databases.
 */
export async function recreateDatabase(adminUrl: string, name: string): Promise<string> {
  await withAdmin(adminUrl, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool({ url: url.toString(), max: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return url.toString();
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
