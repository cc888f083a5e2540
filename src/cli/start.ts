import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { holdSignalsDuringShutdown, installRuntime } from '../observability';
import { DEFAULT_WAREHOUSE_URL, loadConfig } from '../config';
import { generate } from '../datagen/generate';
import { DAY_MS, toIso } from '../interval';
import { startTemporalDevServer, startWarehouse } from '../local/stack';
import {
  catchUp,
  lateDataScheduleLine,
  lateDataWatcherInput,
  upsertLateDataSchedule,
  upsertSchedule,
} from '../schedule';
import { endPassed, scheduleChanges, settingSources } from '../schedule-describe';
import { shortIso } from '../times';
import { ensureDatabase } from '../warehouse/database';
import { migrate } from '../warehouse/migrate';
import { asWarehouseProblem, checkSource } from '../preflight';
import { connectClient, connectWorker } from '../temporal';
import { configuredRunInput } from '../run-input';
import { redactUrl } from '../warehouse/pool';
import { createWarehousePool, createWorker, deliverAlerts, monitorFreshness } from '../worker';
import { defineCommand, parseCommandLine, usageText } from './args';

const USAGE = `usage: npm start

Runs the whole pipeline locally: a Temporal dev server (Web UI on :8233, history kept in .data/), the
warehouse (WAREHOUSE_URL, else PostgreSQL on 127.0.0.1:5432, else an embedded PostgreSQL in .data/),
sample data (unless SOURCE_URL is set), the schema, a worker, the hourly schedule, caught up from the
first day of the data, and the late-data watcher's schedule (every LATE_DATA_EVERY; 0 or off: none).
Ctrl-C stops everything it started; starting again resumes where it was.`;

const SAMPLE_MARKER = '.sparkify-sample.json';

async function sampleData(dataDir: string): Promise<{ dir: string; firstDay: string; generated: boolean }> {
  const dir = path.join(dataDir, 'sample');
  const marker = path.join(dir, SAMPLE_MARKER);
  if (existsSync(marker)) {
    const { start } = JSON.parse(await readFile(marker, 'utf8')) as { start: string };
    return { dir, firstDay: start, generated: false };
  }
  // Three days ending today, so that the hourly schedule finds data for the hours it runs now.
  const start = toIso(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS).slice(0, 10);
  await generate({ out: dir, start, days: 3, eventsPerDay: 3000, songs: 500, seed: 42 });
  await writeFile(marker, JSON.stringify({ start, days: 3 }));
  return { dir, firstDay: start, generated: true };
}

export const command = defineCommand(module, USAGE, async () => {
  const { values } = parseCommandLine({ help: { type: 'boolean', short: 'h' } });
  if (values.help) return void console.log(usageText(USAGE));
  // Read (and validated) once, before anything starts; the addresses of what is started here are added below.
  const base = loadConfig();
  holdSignalsDuringShutdown();
  // People read this terminal: the worker's logs in pretty form, warnings and up unless LOG_LEVEL says more.
  const metricsAddress = base.observability.metricsAddress ?? '127.0.0.1:9464';
  const logger = installRuntime({
    logFormat: base.env.LOG_FORMAT ? base.observability.logFormat : 'pretty',
    logLevel: base.env.LOG_LEVEL ? base.observability.logLevel : 'WARN',
    metricsAddress,
  });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((e) => console.error(`while stopping: ${String(e)}`));
  };
  try {
    const started: Record<string, string> = {};
    let uiUrl = base.local.uiUrl;
    if (!base.env.TEMPORAL_ADDRESS) {
      const { temporalPort: port, uiPort } = base.local;
      const server = await startTemporalDevServer({ dataDir: base.dataDir, port, uiPort });
      stops.push(server.stop);
      started.TEMPORAL_ADDRESS = server.address;
      uiUrl = server.uiUrl;
      console.log(
        server.started
          ? `started the Temporal dev server on ${server.address}`
          : `using the Temporal server already running on ${server.address} (not started here: it may be another ` +
              `project's; SPARKIFY_TEMPORAL_PORT picks another port)`,
      );
    }

    const warehouse = await startWarehouse({
      configuredUrl: base.env.WAREHOUSE_URL,
      defaultUrl: DEFAULT_WAREHOUSE_URL,
      dataDir: base.dataDir,
      embeddedPort: base.local.embeddedPgPort,
      forceEmbedded: base.local.embeddedPg,
    });
    stops.push(warehouse.stop);
    await ensureDatabase(warehouse.url).catch(asWarehouseProblem(warehouse.url));
    console.log(`warehouse (${warehouse.kind}): ${redactUrl(warehouse.url)}`);
    started.WAREHOUSE_URL = warehouse.url;

    if (!base.env.SOURCE_URL) {
      const sample = await sampleData(base.dataDir);
      started.SOURCE_URL = sample.dir;
      if (!base.schedule.startAt) started.SCHEDULE_START = sample.firstDay;
      console.log(
        `${sample.generated ? 'generated' : 'using'} sample data in ${sample.dir} (from ${sample.firstDay}, 3 days)`,
      );
    }
    // The same settings with what was started here in place of what was not set; envconfig reads config.env.
    const config = loadConfig({ ...base.env, ...started, SPARKIFY_CONFIG: undefined });

    const pool = createWarehousePool(config);
    stops.push(() => pool.end());
    const report = await migrate(pool).catch(asWarehouseProblem(warehouse.url));
    await checkSource(config.sourceUrl);
    if (report.applied.length) console.log(`schema applied: ${report.applied.join(', ')}`);

    const { connection: nativeConnection, namespace } = await connectWorker(config.env);
    stops.push(() => nativeConnection.close());
    const delivery = deliverAlerts(config, namespace, pool, logger);
    if (delivery) stops.push(() => delivery.stop());
    const worker = await createWorker(config, nativeConnection, namespace, pool, delivery);

    const { client, connection } = await connectClient(config.env);
    stops.push(() => connection.close());
    const input = configuredRunInput(config);
    const settings = { ...config.schedule, taskQueue: config.taskQueue, deployment: config.deployment, input };
    const { outcome, before, after } = await upsertSchedule(client, settings);
    const caught = outcome === 'created' ? await catchUp(client, settings, new Date()) : null;
    console.log(
      `${outcome} schedule ${settings.id}` +
        (caught ? `; catching up ${caught.runs} hourly run(s) since ${shortIso(caught.from)}` : ''),
    );
    // As `schedule up` says them: what this start changed (a start set by `schedule up --start` goes back to the
    // first day of the sample data when SCHEDULE_START is unset: said, not done silently).
    const sources = settingSources(
      base.env,
      {},
      started.SCHEDULE_START ? 'npm start: the first day of the sample data' : undefined,
    );
    for (const line of scheduleChanges(before, after, sources)) console.log(line);
    const passed = endPassed(after, Date.now());
    if (passed) console.error(`warning: ${passed}`);
    // As `npm run schedule -- up`: the watcher's schedule follows the settings (made, updated, or deleted when off).
    const late = config.lateData;
    const watcherInput = lateDataWatcherInput(late, config.deployment, input);
    console.log(lateDataScheduleLine(late, await upsertLateDataSchedule(client, late, config.taskQueue, watcherInput)));
    console.log(`\nTemporal Web UI: ${uiUrl ?? '(see your Temporal server)'}/namespaces/${namespace}/workflows`);
    console.log(`metrics for Prometheus: http://${metricsAddress}/metrics`);
    console.log(`worker running on task queue ${config.taskQueue}; Ctrl-C stops everything.`);
    // The other commands, in other shells, find this server and this warehouse only where they look by default,
    // or when told (status reads the warehouse itself).
    const exports: string[] = [];
    const port = started.TEMPORAL_ADDRESS?.split(':').pop();
    if (port && port !== '7233') exports.push(`export TEMPORAL_ADDRESS=${started.TEMPORAL_ADDRESS}`);
    const url = started.WAREHOUSE_URL;
    if (url && url !== DEFAULT_WAREHOUSE_URL) {
      // An embedded warehouse's URL is this machine's own (started here); a password of the user's stays theirs.
      const shown = !base.env.WAREHOUSE_URL || !hasPassword(url) ? url : '<the same as this shell>';
      exports.push(`export WAREHOUSE_URL=${shown}`);
    }
    if (exports.length) console.log(`for the other commands, in other shells: ${exports.join('; ')}`);
    console.log('');

    // A line whenever the number of runs changes; the loop ends before the connection closes.
    let watching = true;
    const watcher = (async () => {
      let last = '';
      while (watching) {
        try {
          const parts = await Promise.all(
            ['Completed', 'Failed', 'Running'].map(async (status) => {
              const r = await client.workflow.count(
                `WorkflowType = 'SparkifyEtl' AND ExecutionStatus = '${status}' AND WorkflowId STARTS_WITH '${config.deployment}-'`,
              );
              return `${r.count} ${status.toLowerCase()}`;
            }),
          );
          const line = `SparkifyEtl runs: ${parts.join(', ')}`;
          if (line !== last) console.log(line);
          last = line;
        } catch {
          // the server may be busy or going away; the next round tries again
        }
        for (let i = 0; i < 30 && watching; i++) await new Promise((r) => setTimeout(r, 100));
      }
    })();
    stops.push(async () => {
      watching = false;
      await watcher;
    });

    const freshness = monitorFreshness(config, pool, logger);
    stops.push(async () => freshness.stop());

    await worker.run(); // until SIGINT/SIGTERM
    console.log('stopping...');
  } finally {
    await stopAll();
  }
  console.log('stopped');
});

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return true; // not a URL it can read: shown as nothing but a placeholder
  }
}
