import { Pool, type PoolClient, type PoolConfig } from 'pg';

export interface PoolSettings {
  url: string;
  /** Connections the worker may hold; loads of one run go in parallel, so keep it above 5. */
  max?: number;
  /** Server-side statement_timeout in ms (0 = none). Heartbeats keep the activity alive meanwhile. */
  statementTimeoutMs?: number;
  applicationName?: string;
  /**
   * The warehouse is PostgreSQL (the default), whose sessions then run without JIT compilation: PostgreSQL
   * compiles any statement whose estimated cost passes jit_above_cost, and a run's statements pass it once the
   * tables hold months of history (the built-in checks read the whole songs and artists tables), when
   * compiling costs 10-25 ms a statement to save less than a millisecond. Redshift has no such setting.
   */
  postgres?: boolean;
}

/**
 * The connection settings that turn JIT off as a startup option (`-c jit=off`), kept with any options the URL
 * gives (`?options=...`): node-postgres lets the URL's options replace the config's, so they move into it.
 */
function withoutJit(url: string): Pick<PoolConfig, 'connectionString' | 'options'> {
  const jitOff = '-c jit=off';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { options: jitOff };
  }
  const given = parsed.searchParams.get('options');
  if (given === null) return { options: jitOff };
  parsed.searchParams.delete('options');
  return { connectionString: parsed.toString(), options: `${given} ${jitOff}` };
}

/** One pool per process: the worker builds it once and hands it to the activities. */
export function createPool(settings: PoolSettings): Pool {
  const config: PoolConfig = {
    connectionString: settings.url,
    max: settings.max ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: settings.applicationName ?? 'sparkify-etl',
  };
  if (settings.statementTimeoutMs) config.statement_timeout = settings.statementTimeoutMs;
  if (settings.postgres ?? true) Object.assign(config, withoutJit(settings.url));
  const pool = new Pool(config);
  // An idle client that loses its connection emits 'error' on the pool; without a listener that kills
  // the process. The next checkout simply opens a new connection.
  pool.on('error', () => undefined);
  return pool;
}

export async function withClient<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A connection that dies while checked out (server restart, pg_terminate_backend) emits 'error' on the
  // client as well as failing the statement; without a listener that event would crash the worker.
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    return await fn(client);
  } catch (err) {
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.off('error', onError);
    // A client whose statement failed mid-stream (COPY aborted, connection killed) is not reused.
    client.release(broken);
  }
}

/** Runs `fn` in a transaction on a client already checked out: committed if it returns, rolled back if it throws. */
/**
 * `begin` may carry the transaction's first statements after BEGIN (`BEGIN; SET LOCAL ...`, statements without
 * bound values): one round trip for them all.
 */
export async function inTransaction<T>(client: PoolClient, fn: () => Promise<T>, begin = 'BEGIN'): Promise<T> {
  await client.query(begin);
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Runs `fn` in a READ ONLY transaction that is always rolled back: nothing it does can stay. */
export async function inReadOnlyTransaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN READ ONLY');
  try {
    return await fn();
  } finally {
    // On a lost connection the rollback fails too; the statement's own error is the one to report.
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

export async function withTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  return withClient(pool, (client) => inTransaction(client, () => fn(client), begin));
}

/**
 * `postgres://user:secret@host/db` → `postgres://user:***@host/db`: safe to print or log. So are parameters named
 * like a secret: a password, a key, a token, a signature or a credential (a presigned URL's X-Amz-Signature).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|key|token|sig|credential/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
