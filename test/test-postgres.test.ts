/**
 * `npm test` on a machine without PostgreSQL: the set-up falls back to an embedded PostgreSQL (as `npm start`
 * does), creates the template there, and the test databases are copied from it. The second test forces the
 * fallback with TEST_PG_EMBEDDED=1, since this machine has a PostgreSQL on 5432; .ci/run also runs this file
 * with it set, and in a network namespace where nothing answers on 5432, so that the suite's own set-up (jest's
 * global setup) takes the embedded path both ways.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { portOpen } from '../src/local/stack';
import { recreateDatabase, startTestPostgres } from './setup/postgres';
import { createTestDatabase, need } from './support/helpers';

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

async function one<T>(url: string, sql: string): Promise<T> {
  const [row] = await query<T>(url, sql);
  if (!row) throw new Error(`no row from ${sql}`);
  return row;
}

test('the test databases are created on the server the set-up started or found, with the schema', async () => {
  const kind = need('SPARKIFY_TEST_PG_KIND');
  // Forced, or nothing to use instead (as in .ci/run's network namespace, where nothing listens on 5432).
  if (process.env.TEST_PG_EMBEDDED === '1' || (!process.env.TEST_PG_URL && !(await portOpen(5432)))) {
    expect(kind).toBe('embedded');
  }
  const db = await createTestDatabase();
  try {
    const { port } = await one<{ port: string }>(db.url, 'SHOW port');
    expect(Number(port)).toBe(Number(new URL(db.url).port || 5432));
    const tables = await query<{ n: number }>(
      db.url,
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('songplays', 'users', 'etl_runs')",
    );
    expect(tables).toEqual([{ n: 3 }]);
    if (kind === 'embedded') {
      const { data_directory: dir } = await one<{ data_directory: string }>(db.url, 'SHOW data_directory');
      expect(dir.startsWith(path.join(os.tmpdir(), 'sparkify-test-pg-'))).toBe(true);
    }
  } finally {
    await db.drop();
  }
});

test('with the fallback forced (TEST_PG_EMBEDDED=1 in a SPARKIFY_CONFIG file), an embedded PostgreSQL serves the databases and stops', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sparkify-test-pg-config-'));
  const file = path.join(dir, 'settings.json');
  writeFileSync(file, JSON.stringify({ TEST_PG_EMBEDDED: 1 }));
  const postgres = await startTestPostgres({
    SPARKIFY_CONFIG: file,
    TEST_PG_URL: 'postgres://nobody@127.0.0.1:1/none',
  });
  const port = Number(new URL(postgres.adminUrl).port);
  try {
    expect(postgres.kind).toBe('embedded');
    expect(port).not.toBe(5432);
    await recreateDatabase(postgres.adminUrl, 'sparkify_test_template_embedded');
    const copy = new URL(postgres.adminUrl);
    copy.pathname = '/sparkify_test_embedded';
    await query(postgres.adminUrl, 'CREATE DATABASE sparkify_test_embedded TEMPLATE sparkify_test_template_embedded');
    const { dir: dataDir } = await one<{ dir: string }>(
      copy.toString(),
      'SELECT current_setting($$data_directory$$) AS dir',
    );
    expect(dataDir.startsWith(path.join(os.tmpdir(), 'sparkify-test-pg-'))).toBe(true);
    const { n } = await one<{ n: number }>(copy.toString(), 'SELECT count(*)::int AS n FROM songplays');
    expect(n).toBe(0);
  } finally {
    await postgres.stop();
  }
  expect(await portOpen(port)).toBe(false);
});
