import { Runtime, Worker, type DefaultLogger, type NativeConnection } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from './activities';
import type { AlertSettings } from './alerts';
import { ConfigError, loadConfig, type AppConfig } from './config';
import { helpCommand, helpOnly } from './cli/args';
import { startFreshnessMonitor } from './freshness';
import { allChecks, checkSource, checkWarehouse } from './preflight';
import { holdSignalsDuringShutdown, installRuntime } from './observability';
import { dialectFor } from './warehouse/dialect';
import { checkSearchAttributes, connectWorker } from './temporal';
import { createPool, redactUrl } from './warehouse/pool';

/**
 * The worker process: builds the warehouse pool and the Temporal connection once, runs SparkifyEtl and
 * its activities on the task queue, and closes everything on SIGINT/SIGTERM (the Worker's default
 * shutdown signals: it stops polling and lets running activities finish first).
 */
export function createWarehousePool(config: AppConfig): Pool {
  return createPool({
    url: config.warehouse.url,
    max: config.warehouse.poolMax,
    statementTimeoutMs: config.warehouse.statementTimeoutMs,
    applicationName: 'sparkify-etl-worker',
  });
}

/** What the failure webhook needs, with every secret this worker holds so that none is ever sent. */
export function alertSettings(config: AppConfig, namespace: string): AlertSettings | undefined {
  const webhookUrl = config.observability.alertWebhookUrl;
  if (!webhookUrl) return undefined;
  let password = '';
  try {
    password = decodeURIComponent(new URL(config.warehouse.url).password);
  } catch {
    // validated by loadConfig: a URL without a password
  }
  const secrets = [
    password,
    config.env.AWS_SECRET_ACCESS_KEY,
    config.env.AWS_SESSION_TOKEN,
    config.env.TEMPORAL_API_KEY,
  ];
  return {
    webhookUrl,
    uiUrl: config.observability.uiUrl,
    namespace,
    secrets: secrets.filter((s): s is string => !!s),
  };
}

export function createWorker(config: AppConfig, connection: NativeConnection, namespace: string, pool: Pool) {
  const alerts = alertSettings(config, namespace);
  return Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    ...(config.worker.workflowBundle
      ? { workflowBundle: { codePath: config.worker.workflowBundle } }
      : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities({
      pool,
      defaultSource: config.sourceUrl,
      dialect: dialectFor(config.warehouse.dialect),
      songListingMaxAgeMs: config.worker.songListingMaxAgeMs,
      checks: config.checks,
      ...(config.redshift ? { redshift: config.redshift } : {}),
      ...(alerts ? { alerts } : {}),
    }),
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    // The five parallel loads of a run can all start eagerly (servers with eager activity execution on).
    maxEagerActivityReservationsPerWorkflowTask: 5,
    shutdownGraceTime: '30s',
  });
}

/** The freshness gauges (and FRESHNESS_SLA's breach log), as every worker process exports them. */
export function monitorFreshness(config: AppConfig, pool: Pool, logger: DefaultLogger) {
  return startFreshnessMonitor({
    pool,
    dialect: dialectFor(config.warehouse.dialect),
    deployment: config.deployment,
    meter: Runtime.instance().metricMeter,
    log: logger,
    ...(config.observability.freshnessSlaMs ? { slaMs: config.observability.freshnessSlaMs } : {}),
  });
}

async function run(): Promise<void> {
  const config = loadConfig();
  // What cannot heal by waiting is found now, not by the first run after minutes of retries.
  const dialect = dialectFor(config.warehouse.dialect);
  await allChecks([checkWarehouse(config.warehouse.url, dialect), checkSource(config.sourceUrl)]);
  const logger = installRuntime(config.observability);
  holdSignalsDuringShutdown((message) => logger.warn(message));
  const pool = createWarehousePool(config);
  const { connection, namespace } = await connectWorker().catch(async (err: unknown) => {
    await pool.end();
    throw err;
  });
  try {
    const unsure = await checkSearchAttributes(connection, namespace);
    if (unsure) logger.warn(unsure);
    const worker = await createWorker(config, connection, namespace, pool);
    logger.info(`worker polling task queue "${config.taskQueue}"`, {
      namespace,
      taskQueue: config.taskQueue,
      warehouse: redactUrl(config.warehouse.url),
      source: config.sourceUrl,
      metrics: config.observability.metricsAddress ? `http://${config.observability.metricsAddress}/metrics` : 'off',
    });
    const freshness = monitorFreshness(config, pool, logger);
    try {
      await worker.run();
    } finally {
      freshness.stop();
    }
  } finally {
    await connection.close();
    await pool.end();
  }
  logger.info('worker stopped: connections closed');
}

const USAGE = `usage: npm run worker

Runs the SparkifyEtl worker on TASK_QUEUE until SIGINT/SIGTERM (it finishes running steps first). It checks
first that the warehouse (WAREHOUSE_URL) answers with its schema migrated and that the source (SOURCE_URL) is
readable. Settings: see the README's configuration table; METRICS_ADDRESS serves /metrics, FRESHNESS_SLA and
ALERT_WEBHOOK_URL turn on the freshness check and the failure webhook.`;

function helpAsked(): boolean {
  try {
    return helpOnly(USAGE);
  } catch (err) {
    console.error(`error: ${(err as Error).message} (${helpCommand(USAGE)} shows the options)`);
    process.exit(2);
  }
}

if (require.main === module && !helpAsked()) {
  run().catch((err) => {
    console.error(`worker not started: ${err instanceof Error ? err.message : String(err)}`);
    // 2: fix the configuration; 1: something the configuration names did not answer as it should
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
}
