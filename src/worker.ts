import { Runtime, Worker, type DefaultLogger, type NativeConnection } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from './activities';
import { startAlertDelivery, type AlertDelivery } from './alert-delivery';
import type { AlertSettings } from './alerts';
import { ConfigError, loadConfig, type AppConfig } from './config';
import { deploymentGuard } from './deployment-guard';
import { echoArguments, helpCommand, helpOnly, type Command } from './cli/args';
import { exitAfterOutput } from './cli/exit';
import { startFreshnessMonitor } from './freshness';
import { allChecks, checkSource, checkWarehouse } from './preflight';
import { holdSignalsDuringShutdown, installRuntime } from './observability';
import { openSource } from './source';
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
    postgres: config.warehouse.dialect === 'postgres',
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

/**
 * The worker's side of the failure webhook: delivers the alerts that runs queue in the outbox (src/alert-delivery.ts),
 * outside every run. Undefined without ALERT_WEBHOOK_URL. Stop it before the pool ends.
 */
export function deliverAlerts(
  config: AppConfig,
  namespace: string,
  pool: Pool,
  logger: DefaultLogger,
): AlertDelivery | undefined {
  const settings = alertSettings(config, namespace);
  if (!settings) return undefined;
  return startAlertDelivery({
    pool,
    dialect: dialectFor(config.warehouse.dialect),
    settings,
    log: logger,
    retryForMs: config.observability.alertRetryForMs,
  });
}

export function createWorker(
  config: AppConfig,
  connection: NativeConnection,
  namespace: string,
  pool: Pool,
  delivery?: AlertDelivery,
) {
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
      ...(delivery ? { onAlertQueued: delivery.nudge } : {}),
    }),
    // A step of another deployment's run (same task queue) is refused before it writes anything.
    interceptors: {
      activity: [deploymentGuard({ deployment: config.deployment, taskQueue: config.taskQueue, namespace })],
    },
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
    sourceLocation: openSource(config.sourceUrl).location,
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
    const delivery = deliverAlerts(config, namespace, pool, logger);
    const worker = await createWorker(config, connection, namespace, pool, delivery).catch(async (err: unknown) => {
      await delivery?.stop();
      throw err;
    });
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
      await delivery?.stop();
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
    console.error(`error: ${echoArguments((err as Error).message)} (${helpCommand(USAGE)} shows the options)`);
    exitAfterOutput(2);
    return true; // nothing more runs: the process ends once the message is out
  }
}

/** `sparkify worker` (and `node dist/src/worker.js`, the image's command): its errors say the worker did not start. */
export const command: Command = {
  usage: USAGE,
  run() {
    if (helpAsked()) return;
    run().catch((err) => {
      console.error(`worker not started: ${err instanceof Error ? err.message : String(err)}`);
      // 2: fix the configuration; 1: something the configuration names did not answer as it should
      exitAfterOutput(err instanceof ConfigError ? 2 : 1);
    });
  },
};

if (require.main === module) command.run();
