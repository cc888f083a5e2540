import path from 'node:path';
import { settingsEnv, SETTINGS } from '../config';
import { generate } from '../datagen/generate';
import { parseInstant } from '../interval';
import { defineCommand, intOption, parseCommandLine, UsageError, usageText } from './args';

const USAGE = `usage: npm run generate -- [--out DIR] [--start YYYY-MM-DD] [--days N] [--events-per-day N] [--songs N] [--seed S]

Writes synthetic Sparkify data laid out like the S3 bucket (log_data/, song_data/), deterministic for a seed.
Defaults: --out .data/sample --start 2018-11-01 --days 3 --events-per-day 3000 --songs 500 --seed 42`;

export const command = defineCommand(module, USAGE, async () => {
  const { values } = parseCommandLine({
    out: { type: 'string' },
    start: { type: 'string' },
    days: { type: 'string' },
    'events-per-day': { type: 'string' },
    songs: { type: 'string' },
    seed: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(usageText(USAGE));
    return;
  }
  const start = values.start ?? '2018-11-01';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start)) throw new UsageError(`--start must be a day like 2018-11-01, got "${start}"`);
  try {
    parseInstant(start);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const dataDir = settingsEnv().SPARKIFY_DATA_DIR || SETTINGS.SPARKIFY_DATA_DIR.default;
  const out = path.resolve(values.out ?? path.join(dataDir, 'sample'));
  const t0 = performance.now();
  const summary = await generate({
    out,
    start,
    days: intOption(values.days, 'days', 3, 1),
    eventsPerDay: intOption(values['events-per-day'], 'events-per-day', 3000, 1),
    songs: intOption(values.songs, 'songs', 500, 1),
    seed: intOption(values.seed, 'seed', 42),
  });
  console.log(
    `generated ${summary.events} events in ${summary.eventFiles.length} day file(s), ${summary.songFiles} songs by ` +
      `${summary.artists} artists, ${summary.users} users, into ${out} (${Math.round(performance.now() - t0)} ms)`,
  );
  console.log(`SOURCE_URL=${out}`);
});
