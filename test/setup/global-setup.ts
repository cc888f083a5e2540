/**
 * One real Temporal dev server and one real PostgreSQL per test run:
 * - the dev server is the Temporal CLI that scripts/provision-temporal.sh provides, started through
 *   @temporalio/testing (it cannot download one here), with its Web UI so tests can read the UI's API;
 * - PostgreSQL is TEST_PG_URL, else the local server on 127.0.0.1:5432, else an embedded PostgreSQL started
 *   here and stopped in global teardown (postgres.ts); each test file creates its own database from a
 *   template that has the schema applied;
 * - the workflow bundle is built once and sample data is generated once, both into a temporary folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { generate } from '../../src/datagen/generate';
import { DEV_SERVER_ARGS } from '../../src/local/stack';
import { freePort } from '../support/processes';
import { SAMPLE } from '../support/sample';
import { recreateDatabase, startTestPostgres } from './postgres';

const ROOT = path.resolve(__dirname, '..', '..');

export default async function globalSetup(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'sparkify-test-'));
  const temporalPath = execFileSync('bash', [path.join(ROOT, 'scripts/provision-temporal.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();

  const uiPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalPath },
      ip: '127.0.0.1',
      ui: true,
      uiPort,
      log: { format: 'pretty', level: 'error' },
      extraArgs: [...DEV_SERVER_ARGS],
    },
  });
  (globalThis as Record<string, unknown>).__SPARKIFY_TEMPORAL_ENV__ = env;

  const postgres = await startTestPostgres();
  (globalThis as Record<string, unknown>).__SPARKIFY_TEST_POSTGRES__ = postgres;
  const adminUrl = postgres.adminUrl;
  const template = `sparkify_test_template_${process.pid}`;
  await recreateDatabase(adminUrl, template);

  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'src/workflows/index.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  await writeFile(bundlePath, code);

  const dataDir = path.join(tmp, 'sample');
  await generate({ out: dataDir, ...SAMPLE });

  Object.assign(process.env, {
    SPARKIFY_TEST_TMP: tmp,
    SPARKIFY_TEST_TEMPORAL_ADDRESS: env.address,
    SPARKIFY_TEST_TEMPORAL_UI: `http://127.0.0.1:${uiPort}`,
    SPARKIFY_TEST_TEMPORAL_CLI: temporalPath,
    SPARKIFY_TEST_PG_ADMIN_URL: adminUrl,
    SPARKIFY_TEST_PG_KIND: postgres.kind,
    SPARKIFY_TEST_PG_TEMPLATE: template,
    SPARKIFY_TEST_BUNDLE: bundlePath,
    SPARKIFY_TEST_DATA: dataDir,
  });
}
