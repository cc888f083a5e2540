import { closeSync, constants as fsConstants, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { printable } from './printable';
import path from 'node:path';
import { MAX_RETRY_BUDGET_MS, parseDuration } from './input';
import { DEFAULT_DEPLOYMENT, DEPLOYMENT_NAME, lateDataScheduleId } from './interval';
import { scheduleBound } from './times';
import { parseLoadModes, type LoadModes } from './types';

type Env = Record<string, string | undefined>;

/**
 * All settings, read once from the environment and validated together: a bad configuration is reported
 * as one error that lists every problem, before anything connects anywhere.
 *
 * Temporal connection settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, profiles)
 * are read by @temporalio/envconfig (temporalSettings() in temporal.ts) and S3's by the AWS SDK
 * (s3Client() in source/s3.ts), both from settingsEnv(): the environment over the SPARKIFY_CONFIG file.
 */
export interface AppConfig {
  /** The environment over the SPARKIFY_CONFIG file: what envconfig and the S3 client read (see temporal.ts). */
  env: Readonly<Env>;
  /** Starts every workflow id and names the schedule (SPARKIFY_DEPLOYMENT): deployments sharing a namespace stay apart. */
  deployment: string;
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
  /** How long a step of the runs this process starts retries what can heal (RETRY_BUDGET); the workflow's default when unset. */
  retryBudget?: string;
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
  /** The late-data watcher's schedule (docs/data-semantics.md, "Late and corrected data"). */
  lateData: LateDataConfig;
  /** Custom data-quality checks: SQL files the operator reviews; runs select them by name. */
  checks: { dir: string; role?: string; statementTimeoutMs: number };
  observability: {
    logFormat: 'json' | 'pretty';
    logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
    /** host:port for the Prometheus endpoint (/metrics); none when unset. */
    metricsAddress?: string;
    /** Where the failure webhook posts (ALERT_WEBHOOK_URL); no alerts when unset. */
    alertWebhookUrl?: string;
    /** How long an alert the receiver did not take is tried again (ALERT_RETRY_FOR). */
    alertRetryForMs: number;
    /** How far behind now the loaded hours may end before the worker reports a breach (FRESHNESS_SLA). */
    freshnessSlaMs?: number;
    /** The Web UI that alerts link to: SPARKIFY_UI_URL, else the local dev server's. */
    uiUrl: string;
  };
  /** What `npm start` starts (src/local/stack.ts). */
  local: {
    temporalPort: number;
    uiPort: number;
    /** The Web UI of a Temporal server that `npm start` did not start (TEMPORAL_ADDRESS set). */
    uiUrl?: string;
    /** Use the embedded PostgreSQL even when one listens on 5432. */
    embeddedPg: boolean;
    embeddedPgPort: number;
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
  /**
   * The start of the first hour loaded (ISO, on a whole hour): its run is scheduled an hour later. Undefined when
   * not given: `schedule up` keeps the start the schedule has.
   */
  startAt?: string;
  /**
   * The end of the last hour loaded (ISO, on a whole hour): no run after the one that loads the hour ending here.
   * Undefined when not given: `schedule up` keeps the end the schedule has. null: no end, and an end the schedule
   * has is removed (SCHEDULE_END=none, `schedule up --end none`).
   */
  endAt?: string | null;
  /** How far back missed runs are caught up after an outage, e.g. "7d". Set explicitly, never the server's default. */
  catchupWindow: string;
  overlap: OverlapPolicy;
}

/** The late-data watcher: its own schedule, how far back it may re-run hours, and how many at once. */
export interface LateDataConfig {
  /** `<SPARKIFY_DEPLOYMENT>-late-data`. */
  scheduleId: string;
  /** How often a cycle runs (LATE_DATA_EVERY), e.g. `5m`; undefined when the watcher is off (`0` or `off`). */
  every?: string;
  lookback: string;
  concurrency: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface Setting {
  /** The value used when the variable is unset or empty; absent when there is none or it is computed. */
  default?: string;
  /** The default as the README shows it, when it is not the plain value (computed, or differs by command). */
  shown?: string;
  /** What it is for: the README's configuration table is generated from this (`npm run docs:config`). */
  doc: string;
}

/**
 * Every environment variable the project reads, in the README's order. A new setting is one row here and its
 * parse line in loadConfig(). Variables read by libraries (TEMPORAL_* by @temporalio/envconfig, AWS_* by the
 * S3 client) and by the tests (TEST_*) are here too, so that the SPARKIFY_CONFIG file accepts them and
 * docker-compose is checked against them; their readers get the file's values through settingsEnv().
 */
export const SETTINGS = {
  WAREHOUSE_URL: {
    default: 'postgres://postgres@127.0.0.1:5432/sparkify',
    doc: 'the warehouse; required for Redshift (the password stays in the worker: it is never logged)',
  },
  WAREHOUSE_DIALECT: { default: 'postgres', doc: '`postgres` or `redshift`' },
  WAREHOUSE_POOL_MAX: { default: '10', doc: 'connections per worker' },
  WAREHOUSE_STATEMENT_TIMEOUT_MS: { default: '0', shown: '0 (none)', doc: 'server-side statement timeout' },
  SOURCE_URL: {
    shown: '`.data/sample`',
    doc: 'folder, `file://` or `s3://bucket/prefix` URL with `log_data/` and `song_data/`',
  },
  LOAD_MODES: {
    shown: "replace for songplays, upsert for the rest (time's upsert replaces the interval's rows)",
    doc: 'load mode per table for scheduled and command-line runs, e.g. `users=append,songplays=truncate-insert`',
  },
  RETRY_BUDGET: {
    default: '10m',
    doc: 'how long a step of the runs that `etl`, `backfill` and the schedule start retries what can heal (a refused connection, a deadlock) before the run fails; `0s` to `24h`',
  },
  CHECKS_DIR: {
    default: 'checks',
    shown: '`checks/`',
    doc: 'folder of the custom check files (`*.sql`, one statement each) that runs may select by name',
  },
  CHECKS_ROLE: {
    doc: 'a read-only role the custom checks run as (`SET LOCAL ROLE`; see [security](docs/security.md)); none when unset',
  },
  CHECKS_STATEMENT_TIMEOUT_MS: { default: '60000', doc: 'how long one custom check may run' },
  REDSHIFT_IAM_ROLE: { doc: 'Redshift: the role its COPY assumes to read S3' },
  REDSHIFT_LOG_JSONPATH: { doc: 'Redshift: the `s3://` URL of `sql/log_json_path.json`' },
  AWS_REGION: {
    shown: '`us-east-1` for S3',
    doc: 'region of the S3 bucket (and of the Redshift cluster: required with `WAREHOUSE_DIALECT=redshift`)',
  },
  AWS_DEFAULT_REGION: { doc: 'read when `AWS_REGION` is unset' },
  AWS_ACCESS_KEY_ID: { shown: 'SDK default', doc: 'S3 credentials, read by the worker only (else a profile or role)' },
  AWS_SECRET_ACCESS_KEY: { shown: 'SDK default', doc: 'S3 credentials, with `AWS_ACCESS_KEY_ID`' },
  AWS_SESSION_TOKEN: { doc: 'S3 credentials: the session token of temporary ones' },
  AWS_ENDPOINT_URL_S3: { doc: 'S3-compatible endpoint (MinIO, LocalStack, moto)' },
  AWS_ENDPOINT_URL: { doc: 'read when `AWS_ENDPOINT_URL_S3` is unset' },
  TEMPORAL_ADDRESS: {
    shown: '`localhost:7233`',
    doc: 'Temporal frontend `host:port`; the TEMPORAL_* settings are read by `@temporalio/envconfig`',
  },
  TEMPORAL_NAMESPACE: { shown: '`default`', doc: 'Temporal namespace' },
  TEMPORAL_API_KEY: { doc: 'Temporal Cloud API key (turns TLS on)' },
  TEMPORAL_TLS: { doc: '`true`: reach Temporal over TLS' },
  TEMPORAL_TLS_CLIENT_CERT_PATH: { doc: 'mTLS client certificate' },
  TEMPORAL_TLS_CLIENT_KEY_PATH: { doc: 'mTLS client key' },
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: { doc: "CA certificate of the Temporal server's TLS" },
  TEMPORAL_TLS_SERVER_NAME: { doc: "server name to verify in the Temporal server's certificate" },
  TEMPORAL_PROFILE: { shown: '`default`', doc: 'profile to read from the Temporal config file' },
  TEMPORAL_CONFIG_FILE: {
    shown: '`~/.config/temporalio/temporal.toml`',
    doc: "Temporal's own config file of profiles (the variables above win over it)",
  },
  SPARKIFY_DEPLOYMENT: {
    default: DEFAULT_DEPLOYMENT,
    doc: "name of this deployment (letters, digits, `_`, `-`): every run of an hour is `<name>-<end of the hour>`, the schedule is `<name>-hourly` and the task queue `<name>`, so two deployments sharing a Temporal namespace never take each other's runs (still: one namespace per deployment, docs/operations.md)",
  },
  TASK_QUEUE: {
    shown: '`<SPARKIFY_DEPLOYMENT>`',
    doc: "task queue of the worker and the runs: by default the deployment's name, so that two deployments in one namespace never run each other's runs (a worker also refuses a run of another deployment: docs/operations.md)",
  },
  WORKER_MAX_CONCURRENT_ACTIVITIES: { default: '20', doc: 'worker concurrency: activities' },
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: { default: '40', doc: 'worker concurrency: workflow tasks' },
  WORKFLOW_BUNDLE: {
    shown: 'unset (bundled at start-up)',
    doc: 'prebuilt workflow bundle (`npm run build:workflows`)',
  },
  SONG_LISTING_MAX_AGE_MS: {
    default: '60000',
    doc: 'how old a listing of `song_data/` a worker may reuse (a new song file is staged by the first run after that)',
  },
  SCHEDULE_ID: { shown: '`<SPARKIFY_DEPLOYMENT>-hourly`', doc: 'the hourly schedule' },
  SCHEDULE_START: {
    shown: 'none (`npm start`: first day of the data)',
    doc: "Airflow's `start_date`: the first run loads the hour starting at `SCHEDULE_START`, a whole hour or a date (its start), or `today-2d`, `now-6h` as `--from` takes them; an `up` without it keeps the schedule's start",
  },
  SCHEDULE_END: {
    doc: "Airflow's `end_date`: the last run loads the hour ending at `SCHEDULE_END`, a whole hour or a date (its end, as `--to` reads it: `2026-11-27` loads that day's last hour), or `tomorrow`, `today+2d`; an `up` without it keeps the schedule's end, and `none` (or `up --end none`) removes it",
  },
  SCHEDULE_MINUTE: { default: '0', doc: 'minute of the hour the runs start' },
  SCHEDULE_CATCHUP_WINDOW: {
    default: '7d',
    doc: 'how far back runs missed during an outage are made up (set explicitly, never the server default)',
  },
  LATE_DATA_EVERY: {
    default: '5m',
    doc: 'how often the late-data watcher (its own schedule, `<SPARKIFY_DEPLOYMENT>-late-data`, made by `npm run schedule -- up` and `npm start`) looks for loaded hours whose source files changed and re-runs them; `0` or `off` turns it off (`up` then deletes that schedule)',
  },
  LATE_DATA_LOOKBACK: {
    default: '30d',
    doc: 'how far back the late-data watcher may re-run hours (older hours are never touched by it), 1h to 36500d',
  },
  LATE_DATA_CONCURRENCY: { default: '4', doc: 're-runs of the late-data watcher at once' },
  SCHEDULE_OVERLAP: {
    default: 'BUFFER_ALL',
    doc: 'when a run is due while another runs: `SKIP`, `BUFFER_ONE`, `BUFFER_ALL`, `CANCEL_OTHER`, `TERMINATE_OTHER` or `ALLOW_ALL` (side by side; runs are isolated)',
  },
  LOG_FORMAT: { default: 'json', shown: '`json` (`npm start`: `pretty`)', doc: 'worker logs: `json` or `pretty`' },
  LOG_LEVEL: {
    default: 'INFO',
    shown: '`INFO` (`npm start`: `WARN`)',
    doc: '`TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`',
  },
  METRICS_ADDRESS: {
    shown: 'unset (`npm start`: `127.0.0.1:9464`)',
    doc: 'Prometheus endpoint `host:port` (`/metrics`)',
  },
  ALERT_WEBHOOK_URL: {
    doc: "the worker POSTs JSON here when a run fails (once per run) and when a failed hour later succeeds: Slack-compatible (`text`) with `hour`, `step`, `message`, `url`; queued with the run's record and sent by the worker process, never inside the run (docs/operations.md)",
  },
  ALERT_RETRY_FOR: {
    default: '1h',
    doc: 'how long the worker keeps trying to deliver an alert the receiver did not take (backoff 2 s doubling to 5 min) before it gives up with a logged line',
  },
  FRESHNESS_SLA: {
    doc: 'e.g. `2h`: the worker logs and counts (`sparkify_freshness_breaches_total`) when the loaded hours end further behind now than this',
  },
  SPARKIFY_CONFIG: {
    doc: 'optional JSON file of these settings (a regular file, at most 1 MiB); a variable set in the environment wins over it',
  },
  SPARKIFY_DATA_DIR: { default: '.data', doc: "the local stack's folder (`rm -rf` it for a full reset)" },
  SPARKIFY_TEMPORAL_PORT: { default: '7233', doc: '`npm start`: port of the Temporal dev server it starts' },
  SPARKIFY_UI_PORT: { default: '8233', doc: "`npm start`: port of the dev server's Web UI" },
  SPARKIFY_UI_URL: {
    shown: '`http://localhost:<SPARKIFY_UI_PORT>`',
    doc: 'the Web UI that alerts link to and `npm start` prints (with `TEMPORAL_ADDRESS` set)',
  },
  SPARKIFY_EMBEDDED_PG: {
    doc: '`1`: `npm start` uses the embedded PostgreSQL even if one listens on 5432 (`WAREHOUSE_URL` unset)',
  },
  SPARKIFY_EMBEDDED_PG_PORT: { default: '5433', doc: '`npm start`: port of the embedded PostgreSQL' },
  TEST_PG_URL: {
    shown: '`postgres://postgres@127.0.0.1:5432/postgres` if it answers, else an embedded PostgreSQL',
    doc: 'tests: the server on which they create their databases',
  },
  TEST_PG_EMBEDDED: { doc: '`1`: the tests start an embedded PostgreSQL even if `TEST_PG_URL` is set or 5432 answers' },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

export function isSetting(name: string): name is SettingName {
  return Object.hasOwn(SETTINGS, name);
}

export const DEFAULT_WAREHOUSE_URL = SETTINGS.WAREHOUSE_URL.default;

/** The largest SPARKIFY_CONFIG file read: a file of settings is a few kilobytes. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/**
 * The SPARKIFY_CONFIG file's text. Only a regular file of at most MAX_CONFIG_FILE_BYTES: /dev/zero would be read
 * until memory runs out, and a FIFO with no writer would wait forever (opened without waiting, O_NONBLOCK, to
 * find out). Throws an Error whose message follows the file's name.
 */
function readConfigFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code ?? (err as Error).message})`, {
      cause: err,
    });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const kind = stat.isDirectory()
        ? 'a directory'
        : stat.isFIFO()
          ? 'a FIFO'
          : stat.isCharacterDevice() || stat.isBlockDevice()
            ? 'a device'
            : stat.isSocket()
              ? 'a socket'
              : 'not a file';
      throw new Error(`is ${kind}, not a regular file: name a JSON file of settings`);
    }
    if (stat.size > MAX_CONFIG_FILE_BYTES) {
      throw new Error(
        `is ${stat.size} bytes; a settings file may hold at most ${MAX_CONFIG_FILE_BYTES} (1 MiB): name a JSON file of settings`,
      );
    }
    // At most one byte past the limit: a file that grew since fstat is refused the same way.
    const buffer = Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0;) {
      length += n;
    }
    if (length > MAX_CONFIG_FILE_BYTES) {
      throw new Error(`holds more than ${MAX_CONFIG_FILE_BYTES} bytes (1 MiB): name a JSON file of settings`);
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * Where the JSON is broken, as a line and a column, and what is wrong there, without a word of the file: V8's
 * message for an unexpected character quotes the text around it (`..."PI_KEY": tok_LIVE_ab"...`), and a settings
 * file holds passwords. V8 gives the position for most errors; for an unexpected character, the position is
 * where the shortest prefix of the text that fails the same way ends.
 */
function jsonProblem(text: string, err: Error): string {
  // `Unterminated string in JSON at position 8 (line 1 column 9)`: these quote nothing of the text.
  const at = /^([^"]*?)(?: in JSON)? at position (\d+)/.exec(err.message);
  if (at) return `${at[1]!.replace(/^\w/, (c) => c.toLowerCase())} at ${lineAndColumn(text, Number(at[2]))}`;
  if (/^Unexpected end of JSON input/.test(err.message)) return `it ends early, at ${lineAndColumn(text, text.length)}`;
  const unexpected = (prefix: string) => {
    try {
      JSON.parse(prefix);
      return false;
    } catch (e) {
      return /^Unexpected token/.test((e as Error).message);
    }
  };
  if (!unexpected(text)) return 'it is not valid JSON'; // no other message quotes the text; none seen so far
  let low = 0; // text.slice(0, low) does not fail with an unexpected token; text.slice(0, high) does
  let high = text.length;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (unexpected(text.slice(0, mid))) high = mid;
    else low = mid;
  }
  return `unexpected character at ${lineAndColumn(text, high - 1)}`;
}

/** `line 3, column 7` of a 0-based position in text (columns count UTF-16 units, as V8's positions do). */
function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}

/**
 * The environment with the settings of an optional file under it (SPARKIFY_CONFIG=path/to/settings.json:
 * `{ "WAREHOUSE_URL": "...", ... }` with the names of SETTINGS): a variable that is set wins over the file.
 */
function withConfigFile(env: Env, problems: string[]): Env {
  const file = env.SPARKIFY_CONFIG;
  if (!file) return env;
  const named = `SPARKIFY_CONFIG=${printable(file)}`;
  let text: string;
  try {
    text = readConfigFile(file);
  } catch (err) {
    problems.push(`${named} ${(err as Error).message}`);
    return env;
  }
  let parsed: unknown;
  try {
    // A byte-order mark (editors on Windows write one) is not part of the JSON.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    problems.push(`${named} cannot be read as JSON: ${jsonProblem(text, err as Error)}`);
    return env;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`${named} must hold a JSON object of settings`);
    return env;
  }
  const fromFile: Env = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!isSetting(key)) {
      problems.push(
        `${printable(file)}: unknown setting "${printable(key)}" (known: see the README's configuration table)`,
      );
    } else if (key === 'SPARKIFY_CONFIG') {
      problems.push(`${printable(file)}: SPARKIFY_CONFIG names the file itself; set it in the environment`);
    } else if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      problems.push(`${printable(file)}: ${key} must be a string or a number`);
    } else {
      fromFile[key] = String(value);
    }
  }
  const merged: Env = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}

/**
 * The settings as every reader should see them: the environment over the SPARKIFY_CONFIG file. For the
 * readers outside loadConfig() (envconfig, the S3 client, the tests' set-up); a file that cannot be read is
 * reported by loadConfig().
 */
export function settingsEnv(environment: Env = process.env): Env {
  return withConfigFile(environment, []);
}

/** The late-data watcher's lookback: whole minutes, hours or days, from 1h to 100 years. */
export const LOOKBACK_RULE = 'must be a duration from 1h to 36500d (100 years) such as 48h or 30d';

/** True when `text` is a valid lookback (LOOKBACK_RULE). */
export function isLookback(text: string): boolean {
  const ms = parseDuration(text) ?? 0;
  return /^\d+(m|h|d)$/.test(text) && ms >= 3_600_000 && ms <= 36_500 * 86_400_000;
}

export function loadConfig(environment: Env = process.env): AppConfig {
  const problems: string[] = [];
  const env = withConfigFile(environment, problems);

  /** The setting's value, else its default from SETTINGS. */
  const get = (name: SettingName): string | undefined => env[name] || (SETTINGS[name] as Setting).default;
  const int = (name: SettingName, min: number, max: number): number => {
    const fallback = Number((SETTINGS[name] as Setting).default);
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${raw} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const flag = (name: SettingName): boolean => {
    const raw = env[name] || '0';
    if (raw !== '0' && raw !== '1') problems.push(`${name}=${raw} must be 1 or 0`);
    return raw === '1';
  };

  const dataDir = path.resolve(get('SPARKIFY_DATA_DIR')!);
  if (env.WORKFLOW_BUNDLE && !existsSync(env.WORKFLOW_BUNDLE)) {
    problems.push(`WORKFLOW_BUNDLE=${env.WORKFLOW_BUNDLE} does not exist: run \`npm run build:workflows\``);
  }

  const dialect = get('WAREHOUSE_DIALECT');
  if (dialect !== 'postgres' && dialect !== 'redshift') {
    problems.push(`WAREHOUSE_DIALECT=${dialect} must be postgres or redshift`);
  }
  if (dialect === 'redshift' && !env.WAREHOUSE_URL) {
    problems.push(
      'WAREHOUSE_URL is required with WAREHOUSE_DIALECT=redshift (postgres://user:password@cluster:5439/db)',
    );
  }
  const url = get('WAREHOUSE_URL')!;
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

  const { modes: loadModes, problems: modeProblems } = parseLoadModes(
    (env.LOAD_MODES ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  problems.push(...modeProblems.map((p) => `LOAD_MODES: ${p}`));

  const retryBudget = env.RETRY_BUDGET || undefined;
  if (retryBudget !== undefined) {
    const ms = parseDuration(retryBudget);
    if (ms === undefined || ms > MAX_RETRY_BUDGET_MS) {
      problems.push(`RETRY_BUDGET=${retryBudget} must be a duration from 0s to 24h, such as 30s, 10m or 2h`);
    }
  }

  const deployment = get('SPARKIFY_DEPLOYMENT')!;
  if (!DEPLOYMENT_NAME.test(deployment)) {
    problems.push(
      `SPARKIFY_DEPLOYMENT=${deployment} must start with a letter and hold only letters, digits, _ and - (at most 63)`,
    );
  }
  // A task queue per deployment unless told otherwise: the default deployment's is `sparkify-etl`, as it was.
  const taskQueue = env.TASK_QUEUE || deployment;
  if (!/^[\w.-]{1,200}$/.test(taskQueue)) problems.push(`TASK_QUEUE=${taskQueue} may only hold letters, digits, _ . -`);
  const scheduleId = env.SCHEDULE_ID || `${deployment}-hourly`;
  if (!/^[\w.-]{1,200}$/.test(scheduleId))
    problems.push(`SCHEDULE_ID=${scheduleId} may only hold letters, digits, _ . -`);
  // Read as `schedule up --start/--end` reads them (scheduleBound): `today-2d`, a date (an end: that day's end).
  const bound = (name: 'SCHEDULE_START' | 'SCHEDULE_END'): string | undefined => {
    const raw = env[name];
    if (!raw) return undefined;
    try {
      return new Date(scheduleBound(raw, name, Date.now(), name === 'SCHEDULE_END' ? 'end' : 'start')).toISOString();
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  };
  const startAt = bound('SCHEDULE_START');
  const endAt = env.SCHEDULE_END?.trim().toLowerCase() === 'none' ? null : bound('SCHEDULE_END');
  if (startAt && endAt && startAt >= endAt)
    problems.push(`SCHEDULE_START (${startAt}) must be before SCHEDULE_END (${endAt})`);
  const catchupWindow = get('SCHEDULE_CATCHUP_WINDOW')!;
  if (!/^\d+(ms|s|m|h|d)$/.test(catchupWindow)) {
    problems.push(`SCHEDULE_CATCHUP_WINDOW=${catchupWindow} must be a duration such as 30m, 12h or 7d`);
  }
  const overlap = get('SCHEDULE_OVERLAP')!.toUpperCase();
  if (!OVERLAP_POLICIES.includes(overlap as OverlapPolicy)) {
    problems.push(`SCHEDULE_OVERLAP=${overlap} must be one of ${OVERLAP_POLICIES.join(', ')}`);
  }

  const lateEvery = get('LATE_DATA_EVERY')!.trim();
  const lateOff = lateEvery === 'off' || lateEvery === '0' || parseDuration(lateEvery) === 0;
  if (!lateOff && !(/^\d+(s|m|h|d)$/.test(lateEvery) && (parseDuration(lateEvery) ?? 0) >= 60_000)) {
    problems.push(`LATE_DATA_EVERY=${lateEvery} must be a duration of at least 1m such as 5m or 1h, or 0 / off`);
  }
  const lateLookback = get('LATE_DATA_LOOKBACK')!.trim();
  if (!isLookback(lateLookback)) {
    problems.push(`LATE_DATA_LOOKBACK=${lateLookback} ${LOOKBACK_RULE}`);
  }

  const logFormat = get('LOG_FORMAT');
  if (logFormat !== 'json' && logFormat !== 'pretty') problems.push(`LOG_FORMAT=${logFormat} must be json or pretty`);
  const logLevel = get('LOG_LEVEL')!.toUpperCase();
  if (!['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) {
    problems.push(`LOG_LEVEL=${env.LOG_LEVEL} must be one of TRACE, DEBUG, INFO, WARN, ERROR`);
  }
  const metricsAddress = env.METRICS_ADDRESS || undefined;
  if (metricsAddress && !/^[\w.-]+:\d{1,5}$/.test(metricsAddress)) {
    problems.push(`METRICS_ADDRESS=${metricsAddress} must be host:port, e.g. 0.0.0.0:9464`);
  }

  const alertWebhookUrl = env.ALERT_WEBHOOK_URL || undefined;
  if (alertWebhookUrl && !/^https?:\/\/[^\s]+$/.test(alertWebhookUrl)) {
    problems.push('ALERT_WEBHOOK_URL must be an http:// or https:// URL');
  } else if (alertWebhookUrl && /^https?:\/\/[^/?#]*@/.test(alertWebhookUrl)) {
    // fetch refuses such URLs, and its error would carry them: refused here, without echoing the URL
    problems.push("ALERT_WEBHOOK_URL must not carry user:password@ (put the receiver's token in its path instead)");
  }
  const alertRetryFor = get('ALERT_RETRY_FOR')!;
  const alertRetryForMs = parseDuration(alertRetryFor);
  if (alertRetryForMs === undefined || alertRetryForMs < 1000 || alertRetryForMs > 7 * 24 * 3_600_000) {
    problems.push(`ALERT_RETRY_FOR=${alertRetryFor} must be a duration from 1s to 7d, such as 30m or 6h`);
  }
  const freshnessSla = env.FRESHNESS_SLA || undefined;
  const freshnessSlaMs = freshnessSla === undefined ? undefined : parseDuration(freshnessSla);
  if (freshnessSla !== undefined && (freshnessSlaMs === undefined || freshnessSlaMs <= 0)) {
    problems.push(`FRESHNESS_SLA=${freshnessSla} must be a duration such as 90m or 2h`);
  }
  const uiUrl = env.SPARKIFY_UI_URL || undefined;
  const local: AppConfig['local'] = {
    temporalPort: int('SPARKIFY_TEMPORAL_PORT', 1, 65535),
    uiPort: int('SPARKIFY_UI_PORT', 1, 65535),
    ...(uiUrl ? { uiUrl } : {}),
    embeddedPg: flag('SPARKIFY_EMBEDDED_PG'),
    embeddedPgPort: int('SPARKIFY_EMBEDDED_PG_PORT', 1, 65535),
  };
  const checksRole = env.CHECKS_ROLE || undefined;
  if (checksRole && !/^[a-z_][a-z0-9_$]{0,62}$/.test(checksRole)) {
    problems.push(`CHECKS_ROLE=${checksRole} must be a lower-case role name (letters, digits, _ and $)`);
  }

  const config: AppConfig = {
    env,
    deployment,
    taskQueue,
    warehouse: {
      url,
      dialect: dialect === 'redshift' ? 'redshift' : 'postgres',
      poolMax: int('WAREHOUSE_POOL_MAX', 2, 200),
      statementTimeoutMs: int('WAREHOUSE_STATEMENT_TIMEOUT_MS', 0, 86_400_000),
    },
    sourceUrl,
    loadModes,
    ...(retryBudget ? { retryBudget } : {}),
    ...(redshift ? { redshift } : {}),
    dataDir,
    worker: {
      maxConcurrentActivities: int('WORKER_MAX_CONCURRENT_ACTIVITIES', 1, 1000),
      maxConcurrentWorkflowTasks: int('WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 2, 1000),
      songListingMaxAgeMs: int('SONG_LISTING_MAX_AGE_MS', 0, 86_400_000),
      ...(env.WORKFLOW_BUNDLE ? { workflowBundle: path.resolve(env.WORKFLOW_BUNDLE) } : {}),
    },
    schedule: {
      id: scheduleId,
      minute: int('SCHEDULE_MINUTE', 0, 59),
      ...(startAt ? { startAt } : {}),
      ...(endAt !== undefined ? { endAt } : {}),
      catchupWindow,
      overlap: overlap as OverlapPolicy,
    },
    lateData: {
      scheduleId: lateDataScheduleId(deployment),
      ...(lateOff ? {} : { every: lateEvery }),
      lookback: lateLookback,
      concurrency: int('LATE_DATA_CONCURRENCY', 1, 100),
    },
    checks: {
      dir: path.resolve(get('CHECKS_DIR')!),
      ...(checksRole ? { role: checksRole } : {}),
      statementTimeoutMs: int('CHECKS_STATEMENT_TIMEOUT_MS', 1, 86_400_000),
    },
    observability: {
      logFormat: logFormat as 'json' | 'pretty',
      logLevel: logLevel as AppConfig['observability']['logLevel'],
      ...(metricsAddress ? { metricsAddress } : {}),
      ...(alertWebhookUrl ? { alertWebhookUrl } : {}),
      alertRetryForMs: alertRetryForMs ?? 3_600_000,
      ...(freshnessSlaMs ? { freshnessSlaMs } : {}),
      uiUrl: uiUrl ?? `http://localhost:${local.uiPort}`,
    },
    local,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

export const SETTINGS_TABLE_START =
  '<!-- settings: generated from SETTINGS in src/config.ts by `npm run docs:config` -->';
export const SETTINGS_TABLE_END = '<!-- end of settings -->';

/** The README's configuration table, from SETTINGS. */
export function renderSettingsTable(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = Object.entries(SETTINGS).map(([name, row]: [string, Setting]) => {
    const shown = row.shown ?? (row.default !== undefined ? `\`${row.default}\`` : '–');
    return `| \`${name}\` | ${cell(shown)} | ${cell(row.doc)} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
