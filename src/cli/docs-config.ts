import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderSettingsTable, SETTINGS_TABLE_END, SETTINGS_TABLE_START } from '../config';
import { main, parseCommandLine } from './args';

const USAGE = `usage: npm run docs:config [-- --check]

Writes the README's configuration table from SETTINGS in src/config.ts; with --check, only says whether it
is up to date (exit 1 if not).`;

export const README = path.resolve(__dirname, '..', '..', 'README.md');

/** The README with its settings table replaced by `table`. */
export function withSettingsTable(readme: string, table: string): string {
  const start = readme.indexOf(SETTINGS_TABLE_START);
  const end = readme.indexOf(SETTINGS_TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${SETTINGS_TABLE_START} ... ${SETTINGS_TABLE_END}`);
  return `${readme.slice(0, start + SETTINGS_TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

if (require.main === module) {
  main(USAGE, async () => {
    const { values } = parseCommandLine({ check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) return void console.log(USAGE);
    const readme = await readFile(README, 'utf8');
    const updated = withSettingsTable(readme, renderSettingsTable());
    if (updated === readme) return void console.log('README.md: the configuration table is up to date');
    if (values.check) {
      console.error('README.md: the configuration table differs from SETTINGS: run `npm run docs:config`');
      return 1;
    }
    await writeFile(README, updated);
    console.log('README.md: configuration table written');
  });
}
