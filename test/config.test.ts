import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config';

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
    'LOAD_MODES: unknown load mode "replace" for songs (use upsert, truncate-insert, append)',
    'SCHEDULE_OVERLAP=SOMETIMES must be one of SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER, ALLOW_ALL',
  ]);
  expect(() => loadConfig({ SPARKIFY_CONFIG: file('broken.json', '{ nope') })).toThrow(/cannot be read as JSON/);
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
