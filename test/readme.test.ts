/**
 * The README's first commands, as written, right after `npm start`: its example block runs line by line in a
 * shell against the stack `npm start` brought up (here on the tests' dev server and PostgreSQL, with its own
 * deployment name, data folder and metrics port), and every line succeeds. The lines name hours relative to
 * the clock (yesterday, today-2d, now); test/times.test.ts checks them at every minute of the day.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DAY_MS, toIso } from '../src/interval';
import { need, useTemporalEnv, useTestDatabase } from './support/helpers';
import { Background, freePort, ROOT, runCommand } from './support/processes';

const env = useTemporalEnv();
const db = useTestDatabase();

/** The commands of the README's block that follows "After `npm start`", without their comments. */
function examplesAfterStart(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /After `npm start`[^\n]*\n+```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README: no ```sh block after "After `npm start`"');
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

test('the README examples after `npm start` work as written', async () => {
  const lines = examplesAfterStart();
  expect(lines.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
    'npm run etl',
    'npm run backfill',
    'npm run status',
    'npm run schedule',
  ]);
  const deployment = `readme-${randomUUID().slice(0, 8)}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-readme-'));
  const { SOURCE_URL: _s, SCHEDULE_START: _t, TASK_QUEUE: _q, ...base } = process.env;
  const userEnv: NodeJS.ProcessEnv = {
    ...base,
    TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
    WAREHOUSE_URL: db.url,
    SPARKIFY_DATA_DIR: dataDir,
    SPARKIFY_DEPLOYMENT: deployment,
    WORKFLOW_BUNDLE: need('SPARKIFY_TEST_BUNDLE'),
    METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
  };
  const start = new Background('npm', ['start'], userEnv);
  try {
    await start.waitFor(/worker running on task queue/, 120_000);
    expect(start.output).toMatch(new RegExp(`created schedule ${deployment}-hourly; catching up \\d+ hourly run`));
    const yesterday = toIso(Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS).slice(0, 10);
    const outputs: string[] = [];
    for (const line of lines) {
      const res = await runCommand('bash', ['-c', line], userEnv, 300_000);
      if (res.code !== 0) throw new Error(`\`${line}\` exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
      outputs.push(res.stdout);
    }
    const [etl, backfill, status, schedule] = outputs as [string, string, string, string];
    expect(etl).toContain(`${deployment}-${yesterday}T01:00:00Z`);
    expect(backfill).toMatch(
      new RegExp(
        `^backfill ${yesterday}T00:00:00\\.000Z \\.\\. .*: 24 hour\\(s\\): \\d+ to run, \\d+ running \\(joined\\), \\d+ skipped`,
        'm',
      ),
    );
    expect(status).toContain(`${deployment}: hours `);
    // every hour of yesterday loaded (one may be running again: a caught-up run the backfill ran first)
    expect(status).toMatch(new RegExp(`^${yesterday}  [#>]{6} [#>]{6} [#>]{6} [#>]{6}$`, 'm'));
    expect(schedule).toContain(`schedule ${deployment}-hourly: active`);
  } finally {
    await start.stop('SIGINT', 60_000);
    await env.client.schedule
      .getHandle(`${deployment}-hourly`)
      .delete()
      .catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  }
}, 600_000);
