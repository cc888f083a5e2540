/**
 * docker-compose.yml cannot be run here (no Docker engine), so it is parsed and checked against the config
 * schema: every variable it sets is a setting the project reads, the settings validate, and the addresses
 * point at services that publish those ports.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig, SETTINGS } from '../src/config';
import { DEV_SERVER_ARGS, SERVER_DYNAMIC_CONFIG } from '../src/local/stack';
import { ROOT } from './support/processes';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
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
    ['db-init', 'schedule', 'temporal', 'temporal-db', 'temporal-ui', 'warehouse', 'worker'].sort(),
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
  ]);
});

test('the one-shots run compiled commands that exist in the sources', () => {
  for (const name of ['db-init', 'schedule'] as const) {
    const [node, script] = services[name]!.command!;
    expect(node).toBe('node');
    const source = script!.replace(/^dist\//, '').replace(/\.js$/, '.ts');
    expect(readFileSync(path.join(ROOT, source), 'utf8').length).toBeGreaterThan(0);
  }
  expect(pkg.scripts['db:init']).toContain('src/cli/db-init.ts');
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
