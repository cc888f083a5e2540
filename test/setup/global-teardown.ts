import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

export default async function globalTeardown(): Promise<void> {
  const env = (globalThis as Record<string, unknown>).__SPARKIFY_TEMPORAL_ENV__ as TestWorkflowEnvironment | undefined;
  await env?.teardown();
  const adminUrl = process.env.SPARKIFY_TEST_PG_ADMIN_URL;
  const template = process.env.SPARKIFY_TEST_PG_TEMPLATE;
  if (adminUrl && template) {
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
  }
  if (process.env.SPARKIFY_TEST_TMP) await rm(process.env.SPARKIFY_TEST_TMP, { recursive: true, force: true });
}
