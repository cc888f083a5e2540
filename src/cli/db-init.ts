import { loadConfig } from '../config';
import { ensureDatabase } from '../warehouse/database';
import { dialectFor } from '../warehouse/dialect';
import { migrate } from '../warehouse/migrate';
import { createPool, redactUrl } from '../warehouse/pool';
import { asWarehouseProblem } from '../preflight';
import { defineCommand, parseCommandLine, usageText } from './args';

const USAGE = `usage: npm run db:init

Creates the warehouse database named in WAREHOUSE_URL if it is missing, then applies the schema in sql/.
Safe to run any number of times.`;

export const command = defineCommand(module, USAGE, async () => {
  const { values } = parseCommandLine({ help: { type: 'boolean', short: 'h' } });
  if (values.help) return void console.log(usageText(USAGE));
  const config = loadConfig();
  const url = config.warehouse.url;
  const dialect = dialectFor(config.warehouse.dialect);
  const created = dialect.name === 'postgres' && (await ensureDatabase(url).catch(asWarehouseProblem(url)));
  if (created) console.log(`created database ${redactUrl(url)}`);
  const pool = createPool({
    url,
    max: 2,
    applicationName: 'sparkify-etl-db-init',
    postgres: dialect.name === 'postgres',
  });
  try {
    const report = await migrate(pool, dialect).catch(asWarehouseProblem(url));
    console.log(
      `schema ready at ${redactUrl(url)}: applied ${report.applied.length ? report.applied.join(', ') : 'nothing'}` +
        (report.alreadyApplied.length ? `; already applied ${report.alreadyApplied.join(', ')}` : ''),
    );
  } finally {
    await pool.end();
  }
});
