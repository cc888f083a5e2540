import path from 'node:path';

/**
 * All settings, read once from the environment and validated together: a bad configuration is reported
 * as one error that lists every problem, before anything connects anywhere.
 *
 * Temporal connection settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, profiles)
 * are read by @temporalio/envconfig; see temporalConnection() in temporal.ts.
 */
export interface AppConfig {
  taskQueue: string;
  warehouse: {
    url: string;
    dialect: 'postgres';
    poolMax: number;
    statementTimeoutMs: number;
  };
  /** Folder or file:// URL holding log_data/ and song_data/. */
  sourceUrl: string;
  /** Project data folder: sample data, dev server database, embedded PostgreSQL. */
  dataDir: string;
  worker: {
    maxConcurrentActivities: number;
    maxConcurrentWorkflowTasks: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export const DEFAULT_WAREHOUSE_URL = 'postgres://postgres@127.0.0.1:5432/sparkify';

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${raw} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };

  const dataDir = path.resolve(env.SPARKIFY_DATA_DIR || '.data');

  const url = env.WAREHOUSE_URL || DEFAULT_WAREHOUSE_URL;
  try {
    const u = new URL(url);
    if (!/^postgres(ql)?:$/.test(u.protocol) && u.protocol !== 'redshift:') {
      problems.push(`WAREHOUSE_URL must be a postgres:// URL, got scheme "${u.protocol}"`);
    }
    if (!u.pathname || u.pathname === '/') problems.push('WAREHOUSE_URL must name a database (postgres://host/db)');
  } catch {
    problems.push('WAREHOUSE_URL is not a valid URL (expected postgres://user:password@host:5432/database)');
  }

  const dialect = env.WAREHOUSE_DIALECT || 'postgres';
  if (dialect !== 'postgres') problems.push(`WAREHOUSE_DIALECT=${dialect} is not supported (use postgres)`);

  const sourceUrl = env.SOURCE_URL || path.join(dataDir, 'sample');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(sourceUrl) && !/^file:\/\//i.test(sourceUrl)) {
    problems.push(`SOURCE_URL=${sourceUrl}: only folders and file:// URLs are supported`);
  }

  const taskQueue = env.TASK_QUEUE || 'sparkify-etl';
  if (!/^[\w.-]{1,200}$/.test(taskQueue)) problems.push(`TASK_QUEUE=${taskQueue} may only hold letters, digits, _ . -`);

  const config: AppConfig = {
    taskQueue,
    warehouse: {
      url,
      dialect: 'postgres',
      poolMax: int('WAREHOUSE_POOL_MAX', 10, 2, 200),
      statementTimeoutMs: int('WAREHOUSE_STATEMENT_TIMEOUT_MS', 0, 0, 86_400_000),
    },
    sourceUrl,
    dataDir,
    worker: {
      maxConcurrentActivities: int('WORKER_MAX_CONCURRENT_ACTIVITIES', 20, 1, 1000),
      maxConcurrentWorkflowTasks: int('WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 40, 2, 1000),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
