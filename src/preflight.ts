import { readdir } from 'node:fs/promises';
import { Client } from 'pg';
import { PreflightError } from './preflight-error';
import { openSource, SourceConfigError } from './source';
import type { Dialect } from './warehouse/dialect';
import { describeError } from './warehouse/errors';
import { redactUrl } from './warehouse/pool';

export { PreflightError };

const NODE_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running, and on this port?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** A connection error in a few words: `connection refused`, `[28000] role "x" is not permitted to log in`. */
export function connectionProblem(err: unknown): string {
  const e = err as { code?: unknown; errors?: unknown[] };
  // Node reports a refused dual-stack connect as an AggregateError of one error per address.
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && NODE_ERRORS[code]) return NODE_ERRORS[code];
  if (Array.isArray(e?.errors) && e.errors.length > 0) return connectionProblem(e.errors[0]);
  return describeError(err);
}

function where(url: string): string {
  return `WAREHOUSE_URL (${redactUrl(url)})`;
}

/** The warehouse answers, the login works, the database exists and every migration in sql/ is applied. */
export async function checkWarehouse(
  url: string,
  dialect: Dialect,
  opts: { requireSchema?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: opts.timeoutMs ?? 5_000,
    application_name: 'sparkify-etl-preflight',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    const code = String((err as { code?: unknown }).code ?? '');
    const fix =
      code === '3D000'
        ? ': run `npm run db:init` to create it'
        : code.startsWith('28')
          ? ': check the role and password (the role needs LOGIN)'
          : '';
    throw new PreflightError(`${where(url)}: ${connectionProblem(err)}${fix}`);
  }
  try {
    if (opts.requireSchema === false) return;
    const wanted = await expectedMigrations(dialect);
    let applied: string[];
    try {
      applied = (await client.query<{ name: string }>(dialect.appliedMigrations)).rows.map((r) => r.name);
    } catch (err) {
      if ((err as { code?: unknown }).code === '42P01') applied = [];
      else throw new PreflightError(`${where(url)}: ${describeError(err)}`);
    }
    const missing = wanted.filter((f) => !applied.includes(f));
    if (missing.length > 0) {
      throw new PreflightError(
        `${where(url)}: the schema is not up to date (${missing.length} migration(s) not applied: ` +
          `${missing.join(', ')}): run \`npm run db:init\``,
      );
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * For a command that connects to the warehouse itself (db:init, start): an error with a SQLSTATE or a socket
 * code becomes one line naming WAREHOUSE_URL and what was seen; anything else is rethrown as it is.
 */
export function asWarehouseProblem(url: string) {
  return (err: unknown): never => {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') {
      const hint =
        code === '42501' && /create database/i.test(String((err as Error).message))
          ? ': create the database as an administrator (CREATE DATABASE …), or GRANT the role CREATEDB'
          : '';
      throw new PreflightError(`${where(url)}: ${connectionProblem(err)}${hint}`);
    }
    throw err;
  };
}

/** The source folder or bucket exists and can be read. */
export async function checkSource(url: string): Promise<void> {
  try {
    await openSource(url).check();
  } catch (err) {
    const message = err instanceof SourceConfigError ? err.message : connectionProblem(err);
    throw new PreflightError(`SOURCE_URL (${url}): ${message}`);
  }
}

/** Runs every check and reports every problem at once, one per line. */
export async function allChecks(checks: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(checks)).filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length === 0) return;
  const plain = failed.map((f) => f.reason as unknown).find((e) => !(e instanceof PreflightError));
  if (plain) throw plain;
  throw new PreflightError(failed.map((f) => (f.reason as Error).message).join('\n  and '));
}

/** Lists the migration files a dialect expects (for messages and tests). */
export async function expectedMigrations(dialect: Dialect): Promise<string[]> {
  return (await readdir(dialect.migrationsDir)).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
}
