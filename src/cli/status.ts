import { loadConfig } from '../config';
import { HOUR_MS, toMs } from '../interval';
import { formatStatus, rangeStatus } from '../status';
import { connectClient } from '../temporal';
import { dialectFor } from '../warehouse/dialect';
import { createPool } from '../warehouse/pool';
import { intervalOption, main, parseCommandLine, UsageError } from './args';

const MAX_STATUS_HOURS = 366 * 24;

const USAGE = `usage: npm run status -- --from TIME --to TIME [--json]

Shows every hour of [from, to) (UTC, on whole hours, at most 366 days) as a grid: a row per day, a cell per
hour, loaded (#), empty: no events (-), failed (X), running (>) or missing: no run yet (.), then a legend,
totals, how far the data is loaded without a gap, and each failed hour with its one-line cause. It reads
etl_runs in the warehouse (WAREHOUSE_URL) and the runs in progress from Temporal, for this deployment
(SPARKIFY_DEPLOYMENT) only. Example: npm run status -- --from 2018-11-01 --to 2018-11-08

options:
  --json    the same as JSON, for scripts: { deployment, from, to, hours: [{ start, end, state, ... }], totals,
            loadedThrough }`;

main(USAGE, async () => {
  const { values, positionals } = parseCommandLine({
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return void console.log(USAGE);
  if (positionals.length) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  const range = intervalOption(values.from, values.to);
  const { startMs, endMs } = toMs(range);
  if (startMs % HOUR_MS !== 0 || endMs % HOUR_MS !== 0) throw new UsageError('--from and --to must be on whole hours');
  if ((endMs - startMs) / HOUR_MS > MAX_STATUS_HOURS) {
    throw new UsageError(`the range holds ${(endMs - startMs) / HOUR_MS} hours; status shows at most 366 days`);
  }
  const config = loadConfig();
  const pool = createPool({ url: config.warehouse.url, max: 1, applicationName: 'sparkify-etl-status' });
  try {
    const { client, connection } = await connectClient(config.env);
    try {
      const status = await rangeStatus(client, pool, dialectFor(config.warehouse.dialect), config.deployment, range);
      console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
      return 0;
    } finally {
      await connection.close();
    }
  } finally {
    await pool.end();
  }
});
