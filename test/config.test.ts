import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { README, withSettingsTable } from '../src/cli/docs-config';
import { ConfigError, loadConfig, renderSettingsTable, SETTINGS, settingsEnv, type SettingName } from '../src/config';
import { s3ClientOptions } from '../src/source/s3';
import { temporalSettings } from '../src/temporal';
import { chooseTestPostgres } from './setup/postgres';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sparkify-config-'));
const file = (name: string, content: unknown) => {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};

test('settings come from an optional JSON file, and the environment wins over it', () => {
  const cfg = file('ok.json', {
    WAREHOUSE_URL: 'postgres://a@h:5432/fromfile',
    TASK_QUEUE: 'from-file',
    WAREHOUSE_POOL_MAX: 7,
  });
  const config = loadConfig({ SPARKIFY_CONFIG: cfg, TASK_QUEUE: 'from-env' });
  expect(config.warehouse.url).toBe('postgres://a@h:5432/fromfile');
  expect(config.warehouse.poolMax).toBe(7);
  expect(config.taskQueue).toBe('from-env');
});

test('problems in the file and in the environment are reported together', () => {
  const cfg = file('bad.json', { WAREHOUSE_URLL: 'x', LOAD_MODES: 'songs=replace' });
  let error: unknown;
  try {
    loadConfig({ SPARKIFY_CONFIG: cfg, SCHEDULE_OVERLAP: 'sometimes' });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).problems).toEqual([
    `${cfg}: unknown setting "WAREHOUSE_URLL" (known: see the README's configuration table)`,
    'LOAD_MODES: "replace" is not a load mode of songs (use upsert, truncate-insert, append)',
    'SCHEDULE_OVERLAP=SOMETIMES must be one of SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER, ALLOW_ALL',
  ]);
  expect(() => loadConfig({ SPARKIFY_CONFIG: file('broken.json', '{ nope') })).toThrow(/cannot be read as JSON/);
});

test('a broken SPARKIFY_CONFIG is located by line and column, and not a character of it is printed', () => {
  const problem = (text: string) => {
    const p = file('located.json', text);
    try {
      loadConfig({ SPARKIFY_CONFIG: p });
    } catch (err) {
      return (err as ConfigError).problems[0]!.replace(`SPARKIFY_CONFIG=${p} cannot be read as JSON: `, '');
    }
    throw new Error('no problem reported');
  };
  const secret = 'postgres://u:SuperSecret123@127.0.0.1:1/x';
  expect(problem(`{"WAREHOUSE_URL": "${secret}",\n "TEMPORAL_API_KEY": tok_LIVE_abc}`)).toBe(
    'unexpected character at line 2, column 23',
  );
  expect(problem(`{"WAREHOUSE_URL": "${secret}"\n\n  "TASK_QUEUE": "x"}`)).toBe(
    "expected ',' or '}' after property value at line 3, column 3",
  );
  expect(problem(`{"WAREHOUSE_URL": "${secret}`)).toBe('unterminated string at line 1, column 61');
  expect(problem(`{"WAREHOUSE_URL": "${secret}"} tok_LIVE`)).toBe(
    'unexpected non-whitespace character after JSON at line 1, column 64',
  );
  expect(problem(`{"WAREHOUSE_URL": tr`)).toBe('it ends early, at line 1, column 21');
});

/** A value other than the default for every setting, valid together with the others. */
const certs = mkdtempSync(path.join(os.tmpdir(), 'sparkify-config-tls-'));
const pem = (name: string) => {
  const p = path.join(certs, name);
  writeFileSync(p, `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`);
  return p;
};
const bundle = file('bundle.js', 'module.exports = {};');
const EXAMPLES: Record<Exclude<SettingName, 'SPARKIFY_CONFIG'>, string> = {
  WAREHOUSE_URL: 'postgres://etl:secret@warehouse.example:5439/dev',
  WAREHOUSE_DIALECT: 'redshift',
  WAREHOUSE_POOL_MAX: '7',
  WAREHOUSE_STATEMENT_TIMEOUT_MS: '60000',
  SOURCE_URL: 's3://sparkify-bucket/raw',
  LOAD_MODES: 'users=append',
  RETRY_BUDGET: '2m',
  CHECKS_DIR: path.join(dir, 'checks'),
  CHECKS_ROLE: 'sparkify_checks',
  CHECKS_STATEMENT_TIMEOUT_MS: '500',
  REDSHIFT_IAM_ROLE: 'arn:aws:iam::123456789012:role/redshift-copy',
  REDSHIFT_LOG_JSONPATH: 's3://sparkify-bucket/raw/log_json_path.json',
  AWS_REGION: 'us-west-2',
  AWS_DEFAULT_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example-secret',
  AWS_SESSION_TOKEN: 'example-token',
  AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9001',
  TEMPORAL_ADDRESS: 'temporal.example:7233',
  TEMPORAL_NAMESPACE: 'sparkify',
  TEMPORAL_API_KEY: 'example-api-key',
  TEMPORAL_TLS: 'true',
  TEMPORAL_TLS_CLIENT_CERT_PATH: pem('client.pem'),
  TEMPORAL_TLS_CLIENT_KEY_PATH: pem('client.key'),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('ca.pem'),
  TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
  TEMPORAL_PROFILE: 'prod',
  TEMPORAL_CONFIG_FILE: file(
    'temporal.toml',
    '[profile.prod]\naddress = "prod.example:7233"\nnamespace = "from-profile"\n[profile.default]\naddress = "default.example:7233"\n',
  ),
  TASK_QUEUE: 'sparkify-other',
  WORKER_MAX_CONCURRENT_ACTIVITIES: '8',
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '16',
  WORKFLOW_BUNDLE: bundle,
  SONG_LISTING_MAX_AGE_MS: '1000',
  SPARKIFY_DEPLOYMENT: 'sparkify-staging',
  SCHEDULE_ID: 'sparkify-other-hourly',
  SCHEDULE_START: '2018-11-01T00:00Z',
  SCHEDULE_END: '2018-12-01T00:00Z',
  SCHEDULE_MINUTE: '5',
  SCHEDULE_CATCHUP_WINDOW: '1d',
  SCHEDULE_OVERLAP: 'ALLOW_ALL',
  LATE_DATA_EVERY: '15m',
  LATE_DATA_LOOKBACK: '7d',
  LATE_DATA_CONCURRENCY: '2',
  LOG_FORMAT: 'pretty',
  LOG_LEVEL: 'DEBUG',
  METRICS_ADDRESS: '0.0.0.0:9464',
  ALERT_WEBHOOK_URL: 'https://hooks.example/services/T0/B0/x',
  ALERT_RETRY_FOR: '6h',
  FRESHNESS_SLA: '2h',
  SPARKIFY_DATA_DIR: path.join(dir, 'data'),
  SPARKIFY_TEMPORAL_PORT: '17233',
  SPARKIFY_UI_PORT: '18233',
  SPARKIFY_UI_URL: 'http://temporal-ui.example:8080',
  SPARKIFY_EMBEDDED_PG: '1',
  SPARKIFY_EMBEDDED_PG_PORT: '15433',
  TEST_PG_URL: 'postgres://postgres@db.example:5432/postgres',
  TEST_PG_EMBEDDED: '1',
};

/**
 * What every reader of the settings sees: the parsed config, @temporalio/envconfig's connection options,
 * the S3 client's options and the tests' choice of PostgreSQL, each given the settings as the entry points
 * give them (settingsEnv: the environment over the file).
 */
async function observed(env: Record<string, string>) {
  const { env: _merged, ...config } = loadConfig(env);
  const settings = settingsEnv(env);
  const { connectionOptions, namespace } = temporalSettings(settings);
  return {
    config,
    temporal: { ...connectionOptions, namespace },
    s3: s3ClientOptions(settings),
    testPostgres: await chooseTestPostgres(settings),
  };
}

const names = Object.keys(SETTINGS).filter((n) => n !== 'SPARKIFY_CONFIG') as (keyof typeof EXAMPLES)[];

test('every setting has an example here (a new setting needs one)', () => {
  expect(names.sort()).toEqual(Object.keys(EXAMPLES).sort());
});

/** Settings that only take effect together with others (set in the environment, around the one under test). */
const REDSHIFT = [
  'WAREHOUSE_DIALECT',
  'WAREHOUSE_URL',
  'SOURCE_URL',
  'REDSHIFT_IAM_ROLE',
  'REDSHIFT_LOG_JSONPATH',
  'AWS_REGION',
] as const;
const KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
const COMPANIONS: Partial<Record<SettingName, readonly (keyof typeof EXAMPLES)[]>> = {
  WAREHOUSE_DIALECT: REDSHIFT,
  REDSHIFT_IAM_ROLE: REDSHIFT,
  REDSHIFT_LOG_JSONPATH: REDSHIFT,
  AWS_ACCESS_KEY_ID: KEYS,
  AWS_SECRET_ACCESS_KEY: KEYS,
  AWS_SESSION_TOKEN: KEYS,
  TEMPORAL_PROFILE: ['TEMPORAL_CONFIG_FILE'],
};

test.each(names)('%s works from a SPARKIFY_CONFIG file as from the environment', async (name) => {
  const base = Object.fromEntries((COMPANIONS[name] ?? []).filter((n) => n !== name).map((n) => [n, EXAMPLES[n]]));
  const value = EXAMPLES[name];
  const fromEnv = await observed({ ...base, [name]: value });
  const fromFile = await observed({ ...base, SPARKIFY_CONFIG: file(`${name}.json`, { [name]: value }) });
  expect(fromFile).toEqual(fromEnv);
  // It has an effect: without it the readers see something else (or the configuration is incomplete).
  expect(await observed(base).catch((err: unknown) => err)).not.toEqual(fromEnv);
});

test('the readers outside loadConfig get the file by default (envconfig, S3, the tests set-up)', async () => {
  const saved = process.env.SPARKIFY_CONFIG;
  process.env.SPARKIFY_CONFIG = file('defaults.json', {
    TEMPORAL_ADDRESS: EXAMPLES.TEMPORAL_ADDRESS,
    AWS_ENDPOINT_URL_S3: EXAMPLES.AWS_ENDPOINT_URL_S3,
    TEST_PG_URL: EXAMPLES.TEST_PG_URL,
  });
  try {
    expect(temporalSettings().connectionOptions.address).toBe(EXAMPLES.TEMPORAL_ADDRESS);
    expect(s3ClientOptions().endpoint).toBe(EXAMPLES.AWS_ENDPOINT_URL_S3);
    expect(await chooseTestPostgres()).toEqual({ kind: 'configured', adminUrl: EXAMPLES.TEST_PG_URL });
  } finally {
    if (saved === undefined) delete process.env.SPARKIFY_CONFIG;
    else process.env.SPARKIFY_CONFIG = saved;
  }
});

test('the README configuration table is generated from SETTINGS (`npm run docs:config`)', () => {
  const readme = readFileSync(README, 'utf8');
  expect(withSettingsTable(readme, renderSettingsTable())).toBe(readme);
});

test('custom checks: a folder (checks/ by default), an optional role checked as a name, a timeout', () => {
  expect(loadConfig({}).checks).toEqual({ dir: path.resolve('checks'), statementTimeoutMs: 60_000 });
  expect(
    loadConfig({ CHECKS_DIR: dir, CHECKS_ROLE: 'sparkify_checks', CHECKS_STATEMENT_TIMEOUT_MS: '500' }).checks,
  ).toEqual({ dir, role: 'sparkify_checks', statementTimeoutMs: 500 });
  expect(() => loadConfig({ CHECKS_ROLE: 'x"; RESET ROLE; --' })).toThrow(
    'CHECKS_ROLE=x"; RESET ROLE; -- must be a lower-case role name (letters, digits, _ and $)',
  );
});

test('the late-data watcher: every 5m over 30 days by default, off with 0 or off, bad values named', () => {
  expect(loadConfig({}).lateData).toEqual({
    scheduleId: 'sparkify-etl-late-data',
    every: '5m',
    lookback: '30d',
    concurrency: 4,
  });
  expect(loadConfig({ LATE_DATA_EVERY: 'off' }).lateData.every).toBeUndefined();
  expect(loadConfig({ LATE_DATA_EVERY: '0' }).lateData.every).toBeUndefined();
  expect(() => loadConfig({ LATE_DATA_EVERY: '10s', LATE_DATA_LOOKBACK: '5m' })).toThrow(
    /LATE_DATA_EVERY=10s must be a duration of at least 1m[^\n]*\n.*LATE_DATA_LOOKBACK=5m must be a duration from 1h to 36500d/,
  );
  expect(() => loadConfig({ LATE_DATA_LOOKBACK: '36501d' })).toThrow(
    /LATE_DATA_LOOKBACK=36501d must be a duration from 1h to 36500d \(100 years\)/,
  );
  expect(loadConfig({ LATE_DATA_LOOKBACK: '36500d' }).lateData.lookback).toBe('36500d');
});
