import { loadConfig } from '../config';
import { HOUR_MS, toMs } from '../interval';
import { openSource } from '../source';
import { formatStatus, rangeStatus } from '../status';
import { connectClient } from '../temporal';
import { dialectFor } from '../warehouse/dialect';
import { checkWarehouse } from '../preflight';
import { createPool } from '../warehouse/pool';
import { defineCommand, intervalOption, parseCommandLine, UsageError, usageText } from './args';
import { TIME_HELP } from './times';

const MAX_STATUS_HOURS = 366 * 24;

const USAGE = `usage: npm run status -- --from TIME --to TIME [--json]

Shows every hour of [from, to) (UTC, on whole hours, at most 366 days) as a grid: a row per day, a cell per
hour, loaded (#), empty: no events (-), stale: the source changed since the load (~), missing file: its day
file was not in the source when it ran (?, not loaded), failed (X), running (>) or missing: no run yet (.), then
a legend, totals, "loaded through" (the end of the latest run of hours loaded or empty without a gap, and where
that run starts), each failed hour with its one-line cause, each missing-file hour with the file and each stale
hour with what changed. It reads etl_runs and the source index in the warehouse (WAREHOUSE_URL; stale as of
the index's last refresh for SOURCE_URL: no file is read) and the runs in progress from Temporal, for this
deployment (SPARKIFY_DEPLOYMENT) only.
${TIME_HELP}. Examples: npm run status -- --from 2018-11-01 --to 2018-11-07 (seven days: the 1st to the 7th),
npm run status -- --from today-2d --to now

options:
  --json    the same as JSON, for scripts: { deployment, from, to, hours: [{ start, end, state, missingFiles?, ...
            }], totals, loadedThrough, loadedSince }`;

export const command = defineCommand(module, USAGE, async () => {
  const { values, positionals } = parseCommandLine({
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return void console.log(usageText(USAGE));
  if (positionals.length) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  const range = intervalOption(values.from, values.to);
  const { startMs, endMs } = toMs(range);
  if (startMs % HOUR_MS !== 0 || endMs % HOUR_MS !== 0) throw new UsageError('--from and --to must be on whole hours');
  if ((endMs - startMs) / HOUR_MS > MAX_STATUS_HOURS) {
    throw new UsageError(`the range holds ${(endMs - startMs) / HOUR_MS} hours; status shows at most 366 days`);
  }
  const config = loadConfig();
  // An unreachable or uninitialised warehouse is named (WAREHOUSE_URL, db:init) before any query.
  await checkWarehouse(config.warehouse.url, dialectFor(config.warehouse.dialect));
  const pool = createPool({
    url: config.warehouse.url,
    max: 1,
    applicationName: 'sparkify-etl-status',
    postgres: config.warehouse.dialect === 'postgres',
  });
  try {
    const { client, connection } = await connectClient(config.env);
    try {
      const dialect = dialectFor(config.warehouse.dialect);
      const location = openSource(config.sourceUrl).location;
      const status = await rangeStatus(client, pool, dialect, config.deployment, location, range);
      console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
      return 0;
    } finally {
      await connection.close();
    }
  } finally {
    await pool.end();
  }
});
