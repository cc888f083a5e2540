import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';
import { postgres, type Dialect } from './dialect';
import { withTransaction } from './pool';

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
}

/**
 * Applies the numbered `sql/NNN_*.sql` files that are not yet recorded in `etl_migrations`,
 * each in its own transaction. An advisory lock makes concurrent `db:init`s wait for each other.
 * Idempotent: running it again applies nothing.
 */
export async function migrate(pool: Pool, dialect: Dialect = postgres): Promise<MigrationReport> {
  const dir = dialect.migrationsDir;
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  for (const file of files) {
    const sql = await readFile(path.join(dir, file), 'utf8');
    await withTransaction(pool, async (client) => {
      await client.query(dialect.createMigrationsTable);
      await client.query(dialect.migrationLock);
      const done = await client.query(dialect.migrationApplied(file));
      if (done.rowCount) {
        report.alreadyApplied.push(file);
        return;
      }
      await client.query(sql);
      await client.query(dialect.recordMigration(file, new Date()));
      report.applied.push(file);
    });
  }
  return report;
}
