/**
 * docker-compose.yml cannot be run here (no Docker engine), so it is parsed and checked against the config
 * schema: every variable it sets is a setting the project reads, the settings validate, and the addresses
 * point at services that publish those ports.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig, SETTINGS } from '../src/config';
import { DEV_SERVER_ARGS, SERVER_DYNAMIC_CONFIG } from '../src/local/stack';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../src/search-attributes';
import { need } from './support/helpers';
import { ROOT } from './support/processes';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** `${VAR:-default}` → default, as compose does when VAR is unset. */
function withDefaults(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]),
  );
}

const ours = ['worker', 'db-init', 'schedule'] as const;

test('it has the whole stack: Temporal with its database and UI, the warehouse, the worker and the one-shots', () => {
  expect(Object.keys(services).sort()).toEqual(
    [
      'db-init',
      'schedule',
      'temporal',
      'temporal-db',
      'temporal-namespace',
      'temporal-schema',
      'temporal-ui',
      'warehouse',
      'worker',
    ].sort(),
  );
  for (const name of ours) expect(services[name]!.build).toBe('.');
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  expect(dockerfile).toContain('CMD ["node", "dist/src/worker.js"]');
  expect(dockerfile).toContain('ENV WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js');
});

test.each(ours)('%s sets only settings the project reads, and they validate', (name) => {
  const env = services[name]!.environment!;
  expect(Object.keys(env).filter((k) => !(k in SETTINGS))).toEqual([]);
  const config = loadConfig(withDefaults(env));
  expect(config.taskQueue).toBe('sparkify-etl');
  expect(config.warehouse.dialect).toBe('postgres');
});

test('the Temporal server gets the dynamic config the pipeline is tuned for, the same as the dev server', () => {
  const temporal = services.temporal as Service & { volumes?: string[] };
  const mount = temporal.volumes!.map((v) => v.split(':')).find(([, target]) => target!.includes('dynamicconfig'))!;
  expect(`/etc/temporal/${temporal.environment!.DYNAMIC_CONFIG_FILE_PATH}`).toBe(mount[1]);
  const dynamic = parse(readFileSync(path.join(ROOT, mount[0]!), 'utf8')) as Record<string, { value: unknown }[]>;
  expect(Object.fromEntries(Object.entries(dynamic).map(([key, [setting]]) => [key, setting!.value]))).toEqual(
    SERVER_DYNAMIC_CONFIG,
  );
  expect(dynamic['system.enableActivityEagerExecution']).toEqual([{ value: true }]);
  expect(DEV_SERVER_ARGS).toEqual([
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    '--dynamic-config-value',
    'history.transferProcessorMaxPollRPS=200',
    '--search-attribute',
    'DataIntervalStart=Datetime',
    '--search-attribute',
    'DataIntervalEnd=Datetime',
  ]);
});

test('the namespace one-shot registers the search attributes the runs set, as the dev server does', () => {
  const [script] = services['temporal-namespace']!.command!;
  const names = CUSTOM_SEARCH_ATTRIBUTES.map(({ name }) => `--name ${name}`).join(' ');
  expect(script).toContain(`temporal operator search-attribute create --namespace default ${names} --type Datetime`);
  expect(CUSTOM_SEARCH_ATTRIBUTES.every(({ type }) => type === 'Datetime')).toBe(true);
});

test('the one-shots run compiled commands that exist in the sources', () => {
  for (const name of ['db-init', 'schedule'] as const) {
    const [node, script] = services[name]!.command!;
    expect(node).toBe('node');
    const source = script!.replace(/^dist\//, '').replace(/\.js$/, '.ts');
    expect(readFileSync(path.join(ROOT, source), 'utf8').length).toBeGreaterThan(0);
  }
  // npm run db:init is the same command, through the sparkify dispatcher
  expect(pkg.scripts['db:init']).toBe('tsx src/cli/sparkify.ts db:init');
});

test('addresses point at services that publish those ports, with matching credentials', () => {
  const worker = withDefaults(services.worker!.environment!);
  const [temporalHost, temporalPort] = worker.TEMPORAL_ADDRESS!.split(':');
  expect(services[temporalHost!]!.ports).toContain(`${temporalPort}:${temporalPort}`);
  expect(services['temporal-ui']!.environment!.TEMPORAL_ADDRESS).toBe(worker.TEMPORAL_ADDRESS);

  const url = new URL(worker.WAREHOUSE_URL!);
  const warehouse = withDefaults(services[url.hostname]!.environment!);
  expect(services[url.hostname]!.ports).toContain(`${url.port}:${url.port}`);
  expect(url.username).toBe(warehouse.POSTGRES_USER);
  expect(url.password).toBe(warehouse.POSTGRES_PASSWORD);
  expect(url.pathname).toBe(`/${warehouse.POSTGRES_DB}`);

  const metricsPort = worker.METRICS_ADDRESS!.split(':')[1];
  expect(services.worker!.ports).toContain(`${metricsPort}:${metricsPort}`);
});

test('Temporal is the maintained server image at the version the dev server runs, its schema set up by a one-shot first', () => {
  // "Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1)": the server the tests and `npm start` run.
  const version = execFileSync(need('SPARKIFY_TEST_TEMPORAL_CLI'), ['--version'], { encoding: 'utf8' });
  const server = /Server ([\d.]+)/.exec(version)![1];
  expect(services.temporal!.image).toBe(`temporalio/server:${server}`);
  expect(services['temporal-schema']!.image).toBe(`temporalio/admin-tools:${server}`);
  expect(services['temporal-namespace']!.image).toBe(`temporalio/admin-tools:${server}`);
  expect(Object.values(services).map((s) => s.image ?? '')).not.toContainEqual(expect.stringMatching(/auto-setup/));

  // The server starts once the schema is set up, the worker and the schedule once the namespace exists.
  expect(services.temporal!.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
  for (const name of ['worker', 'schedule'] as const) {
    expect(services[name]!.depends_on!['temporal-namespace']).toEqual({ condition: 'service_completed_successfully' });
  }

  // The one-shot runs deploy/temporal-schema.sh, which sets up both databases against the server's schema files.
  const schema = services['temporal-schema']!;
  const [source, target] = schema.volumes![0]!.split(':');
  expect(schema.command).toEqual([target]);
  const script = readFileSync(path.join(ROOT, source!), 'utf8');
  expect(script).toContain('temporal-sql-tool --plugin postgres12');
  expect(script).toContain('for pair in temporal:temporal temporal_visibility:visibility');
  expect(script).toContain('update-schema -d "$schemas/$dir/versioned"');
  // The same database and credentials as the server's.
  const env = withDefaults(schema.environment!);
  const serverEnv = withDefaults(services.temporal!.environment!);
  expect(env.POSTGRES_SEEDS).toBe(serverEnv.POSTGRES_SEEDS);
  expect(env.POSTGRES_USER).toBe(serverEnv.POSTGRES_USER);
  expect(env.SQL_PASSWORD).toBe(serverEnv.POSTGRES_PWD);
  expect(withDefaults(services['temporal-db']!.environment!).POSTGRES_PASSWORD).toBe(serverEnv.POSTGRES_PWD);
});
