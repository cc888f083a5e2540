import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseInstant } from './interval';
import { allowedModes, TABLES, type LoadMode, type LoadModes, type StarTable } from './types';

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
    dialect: 'postgres' | 'redshift';
    poolMax: number;
    statementTimeoutMs: number;
  };
  /** Folder, file:// or s3:// URL holding log_data/ and song_data/. */
  sourceUrl: string;
  /** Load mode per table for scheduled and command-line runs (LOAD_MODES=users=append,songplays=replace). */
  loadModes: LoadModes;
  aws: { region?: string };
  /** Redshift's COPY settings (WAREHOUSE_DIALECT=redshift only). */
  redshift?: { iamRole: string; logJsonPath: string; region: string };
  /** Project data folder: sample data, dev server database, embedded PostgreSQL. */
  dataDir: string;
  worker: {
    maxConcurrentActivities: number;
    maxConcurrentWorkflowTasks: number;
    songListingMaxAgeMs: number;
    /** Prebuilt workflow bundle (npm run build:workflows); bundled at start-up when unset. */
    workflowBundle?: string;
  };
  schedule: ScheduleConfig;
  /** Custom data-quality checks: SQL files the operator reviews; runs select them by name. */
  checks: { dir: string; role?: string; statementTimeoutMs: number };
  observability: {
    logFormat: 'json' | 'pretty';
    logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
    /** host:port for the Prometheus endpoint (/metrics); none when unset. */
    metricsAddress?: string;
  };
}

export const OVERLAP_POLICIES = [
  'SKIP',
  'BUFFER_ONE',
  'BUFFER_ALL',
  'CANCEL_OTHER',
  'TERMINATE_OTHER',
  'ALLOW_ALL',
] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** Airflow's schedule_interval='@hourly', start_date, end_date and catchup, as a Temporal Schedule. */
export interface ScheduleConfig {
  id: string;
  /** Minute of the hour at which each run starts (default 0). */
  minute: number;
  /** First scheduled time (ISO); runs before it never happen. */
  startAt?: string;
  /** Last scheduled time (ISO); none after it. */
  endAt?: string;
  /** How far back missed runs are caught up after an outage, e.g. "7d". Set explicitly, never the server's default. */
  catchupWindow: string;
  overlap: OverlapPolicy;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Every environment variable the project reads, with what it is for (the compose file is checked against it). */
export const SETTINGS: Record<string, string> = {
  WAREHOUSE_URL: 'warehouse connection URL (the password stays in the worker)',
  WAREHOUSE_DIALECT: 'postgres or redshift',
  WAREHOUSE_POOL_MAX: 'connections per worker',
  WAREHOUSE_STATEMENT_TIMEOUT_MS: 'server-side statement timeout',
  SOURCE_URL: 'folder, file:// or s3:// URL of log_data/ and song_data/',
  LOAD_MODES: 'load mode per table, e.g. users=append,songplays=replace',
  TASK_QUEUE: 'task queue of the worker and the runs',
  WORKER_MAX_CONCURRENT_ACTIVITIES: 'worker concurrency (activities)',
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: 'worker concurrency (workflow tasks)',
  WORKFLOW_BUNDLE: 'prebuilt workflow bundle (npm run build:workflows)',
  SONG_LISTING_MAX_AGE_MS: 'how old a listing of song_data a run may reuse',
  SCHEDULE_ID: 'id of the hourly schedule',
  SCHEDULE_MINUTE: 'minute of the hour the runs start',
  SCHEDULE_START: "Airflow's start_date",
  SCHEDULE_END: "Airflow's end_date",
  SCHEDULE_CATCHUP_WINDOW: 'how far back missed runs are made up',
  SCHEDULE_OVERLAP: 'overlap policy of the schedule',
  LOG_FORMAT: 'json or pretty',
  LOG_LEVEL: 'TRACE, DEBUG, INFO, WARN or ERROR',
  METRICS_ADDRESS: 'host:port of the Prometheus endpoint',
  CHECKS_DIR: 'folder of the custom check files (*.sql) runs may select by name',
  CHECKS_ROLE: 'read-only role the custom checks run as (SET LOCAL ROLE); none when unset',
  CHECKS_STATEMENT_TIMEOUT_MS: 'how long one custom check may run',
  SPARKIFY_DATA_DIR: "the local stack's folder",
  SPARKIFY_CONFIG: 'optional JSON file of these settings (the environment wins)',
  REDSHIFT_IAM_ROLE: "role Redshift's COPY assumes to read S3",
  REDSHIFT_LOG_JSONPATH: 's3:// URL of sql/log_json_path.json',
  AWS_REGION: 'region of the S3 bucket (and the cluster)',
  AWS_ACCESS_KEY_ID: 'S3 credentials (or a role/profile)',
  AWS_SECRET_ACCESS_KEY: 'S3 credentials (or a role/profile)',
  AWS_ENDPOINT_URL_S3: 'S3-compatible endpoint (MinIO, LocalStack, moto)',
  TEMPORAL_ADDRESS: 'Temporal frontend host:port',
  TEMPORAL_NAMESPACE: 'Temporal namespace',
  TEMPORAL_API_KEY: 'Temporal Cloud API key',
  TEMPORAL_TLS: 'use TLS to reach Temporal',
  TEMPORAL_TLS_CLIENT_CERT_PATH: 'mTLS client certificate',
  TEMPORAL_TLS_CLIENT_KEY_PATH: 'mTLS client key',
};

export const DEFAULT_WAREHOUSE_URL = 'postgres://postgres@127.0.0.1:5432/sparkify';

type Env = Record<string, string | undefined>;

/**
 * Settings from an optional file (SPARKIFY_CONFIG=path/to/settings.json: `{ "WAREHOUSE_URL": "...", ... }`
 * with the names of SETTINGS), under the environment: a variable that is set wins over the file.
 */
function withConfigFile(env: Env, problems: string[]): Env {
  const file = env.SPARKIFY_CONFIG;
  if (!file) return env;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`SPARKIFY_CONFIG=${file} cannot be read as JSON: ${(err as Error).message}`);
    return env;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`SPARKIFY_CONFIG=${file} must hold a JSON object of settings`);
    return env;
  }
  const fromFile: Env = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(key in SETTINGS)) {
      problems.push(`${file}: unknown setting "${key}" (known: see the README's configuration table)`);
    } else if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      problems.push(`${file}: ${key} must be a string or a number`);
    } else {
      fromFile[key] = String(value);
    }
  }
  const merged: Env = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}

export function loadConfig(environment: Env = process.env): AppConfig {
  const problems: string[] = [];
  const env = withConfigFile(environment, problems);

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
  if (env.WORKFLOW_BUNDLE && !existsSync(env.WORKFLOW_BUNDLE)) {
    problems.push(`WORKFLOW_BUNDLE=${env.WORKFLOW_BUNDLE} does not exist: run \`npm run build:workflows\``);
  }

  const dialect = env.WAREHOUSE_DIALECT || 'postgres';
  if (dialect !== 'postgres' && dialect !== 'redshift') {
    problems.push(`WAREHOUSE_DIALECT=${dialect} must be postgres or redshift`);
  }
  if (dialect === 'redshift' && !env.WAREHOUSE_URL) {
    problems.push(
      'WAREHOUSE_URL is required with WAREHOUSE_DIALECT=redshift (postgres://user:password@cluster:5439/db)',
    );
  }
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

  const sourceUrl = env.SOURCE_URL || path.join(dataDir, 'sample');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(sourceUrl) && !/^(file|s3):\/\//i.test(sourceUrl)) {
    problems.push(`SOURCE_URL=${sourceUrl}: use a folder, a file:// URL or an s3://bucket/prefix URL`);
  }

  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  if (region && !/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/.test(region)) {
    problems.push(`AWS_REGION=${region} is not an AWS region such as us-west-2`);
  }
  let redshift: AppConfig['redshift'];
  if (dialect === 'redshift') {
    const iamRole = env.REDSHIFT_IAM_ROLE ?? '';
    if (!/^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]{1,128}$/.test(iamRole)) {
      problems.push(
        `REDSHIFT_IAM_ROLE must be the ARN of a role the cluster may assume (arn:aws:iam::<account>:role/<name>)${iamRole ? `, got ${iamRole}` : ''}`,
      );
    }
    if (!/^s3:\/\//.test(env.SOURCE_URL ?? ''))
      problems.push('SOURCE_URL must be an s3:// URL with WAREHOUSE_DIALECT=redshift (COPY reads from S3)');
    if (!region) problems.push('AWS_REGION is required with WAREHOUSE_DIALECT=redshift (the region of the S3 bucket)');
    const logJsonPath = env.REDSHIFT_LOG_JSONPATH ?? '';
    if (!/^s3:\/\/.+\.json$/.test(logJsonPath)) {
      problems.push('REDSHIFT_LOG_JSONPATH must be the s3:// URL of sql/log_json_path.json uploaded to your bucket');
    }
    redshift = { iamRole, logJsonPath, region: region ?? '' };
  }

  const loadModes: LoadModes = {};
  for (const item of (env.LOAD_MODES ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [table, mode] = item.split('=');
    if (!TABLES.includes(table as StarTable)) {
      problems.push(`LOAD_MODES: unknown table "${table}" (tables: ${TABLES.join(', ')})`);
    } else if (!allowedModes(table as StarTable).includes(mode as LoadMode)) {
      problems.push(
        `LOAD_MODES: unknown load mode "${mode}" for ${table} (use ${allowedModes(table as StarTable).join(', ')})`,
      );
    } else {
      loadModes[table as StarTable] = mode as LoadMode;
    }
  }

  const taskQueue = env.TASK_QUEUE || 'sparkify-etl';
  if (!/^[\w.-]{1,200}$/.test(taskQueue)) problems.push(`TASK_QUEUE=${taskQueue} may only hold letters, digits, _ . -`);

  const scheduleId = env.SCHEDULE_ID || 'sparkify-etl-hourly';
  if (!/^[\w.-]{1,200}$/.test(scheduleId))
    problems.push(`SCHEDULE_ID=${scheduleId} may only hold letters, digits, _ . -`);
  const instant = (name: string): string | undefined => {
    const raw = env[name];
    if (!raw) return undefined;
    try {
      return new Date(parseInstant(raw, name)).toISOString();
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  };
  const startAt = instant('SCHEDULE_START');
  const endAt = instant('SCHEDULE_END');
  if (startAt && endAt && startAt >= endAt)
    problems.push(`SCHEDULE_START (${startAt}) must be before SCHEDULE_END (${endAt})`);
  const catchupWindow = env.SCHEDULE_CATCHUP_WINDOW || '7d';
  if (!/^\d+(ms|s|m|h|d)$/.test(catchupWindow)) {
    problems.push(`SCHEDULE_CATCHUP_WINDOW=${catchupWindow} must be a duration such as 30m, 12h or 7d`);
  }
  const overlap = (env.SCHEDULE_OVERLAP || 'BUFFER_ALL').toUpperCase();
  if (!OVERLAP_POLICIES.includes(overlap as OverlapPolicy)) {
    problems.push(`SCHEDULE_OVERLAP=${overlap} must be one of ${OVERLAP_POLICIES.join(', ')}`);
  }

  const logFormat = env.LOG_FORMAT || 'json';
  if (logFormat !== 'json' && logFormat !== 'pretty') problems.push(`LOG_FORMAT=${logFormat} must be json or pretty`);
  const logLevel = (env.LOG_LEVEL || 'INFO').toUpperCase();
  if (!['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) {
    problems.push(`LOG_LEVEL=${env.LOG_LEVEL} must be one of TRACE, DEBUG, INFO, WARN, ERROR`);
  }
  const metricsAddress = env.METRICS_ADDRESS || undefined;
  if (metricsAddress && !/^[\w.-]+:\d{1,5}$/.test(metricsAddress)) {
    problems.push(`METRICS_ADDRESS=${metricsAddress} must be host:port, e.g. 0.0.0.0:9464`);
  }

  const checksRole = env.CHECKS_ROLE || undefined;
  if (checksRole && !/^[a-z_][a-z0-9_$]{0,62}$/.test(checksRole)) {
    problems.push(`CHECKS_ROLE=${checksRole} must be a lower-case role name (letters, digits, _ and $)`);
  }

  const config: AppConfig = {
    taskQueue,
    warehouse: {
      url,
      dialect: dialect === 'redshift' ? 'redshift' : 'postgres',
      poolMax: int('WAREHOUSE_POOL_MAX', 10, 2, 200),
      statementTimeoutMs: int('WAREHOUSE_STATEMENT_TIMEOUT_MS', 0, 0, 86_400_000),
    },
    sourceUrl,
    loadModes,
    aws: region ? { region } : {},
    ...(redshift ? { redshift } : {}),
    dataDir,
    worker: {
      maxConcurrentActivities: int('WORKER_MAX_CONCURRENT_ACTIVITIES', 20, 1, 1000),
      maxConcurrentWorkflowTasks: int('WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 40, 2, 1000),
      songListingMaxAgeMs: int('SONG_LISTING_MAX_AGE_MS', 60_000, 0, 86_400_000),
      ...(env.WORKFLOW_BUNDLE ? { workflowBundle: path.resolve(env.WORKFLOW_BUNDLE) } : {}),
    },
    schedule: {
      id: scheduleId,
      minute: int('SCHEDULE_MINUTE', 0, 0, 59),
      ...(startAt ? { startAt } : {}),
      ...(endAt ? { endAt } : {}),
      catchupWindow,
      overlap: overlap as OverlapPolicy,
    },
    checks: {
      dir: path.resolve(env.CHECKS_DIR || 'checks'),
      ...(checksRole ? { role: checksRole } : {}),
      statementTimeoutMs: int('CHECKS_STATEMENT_TIMEOUT_MS', 60_000, 1, 86_400_000),
    },
    observability: {
      logFormat: logFormat as 'json' | 'pretty',
      logLevel: logLevel as AppConfig['observability']['logLevel'],
      ...(metricsAddress ? { metricsAddress } : {}),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
