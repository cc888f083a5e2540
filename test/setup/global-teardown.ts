import { rm } from 'node:fs/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { dropDatabase, type TestPostgres } from './postgres';

export default async function globalTeardown(): Promise<void> {
  const shared = globalThis as Record<string, unknown>;
  const env = shared.__SPARKIFY_TEMPORAL_ENV__ as TestWorkflowEnvironment | undefined;
  await env?.teardown();
  const postgres = shared.__SPARKIFY_TEST_POSTGRES__ as TestPostgres | undefined;
  const template = process.env.SPARKIFY_TEST_PG_TEMPLATE;
  try {
    if (postgres && template) await dropDatabase(postgres.adminUrl, template);
  } finally {
    await postgres?.stop();
  }
  if (process.env.SPARKIFY_TEST_TMP) await rm(process.env.SPARKIFY_TEST_TMP, { recursive: true, force: true });
}
