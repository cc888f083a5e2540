/**
 * The `sparkify` executable as a user runs it: package.json's bin (bin/sparkify.js) over the compiled commands,
 * built here first with `npm run build` as `npm run setup` builds them. Its worker serves a task queue of its own;
 * `sparkify etl` prints what `npm run etl` prints; unknown commands and options are one line and exit 2.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { workflowIdFor } from '../src/interval';
import { expectedFor } from './support/expected';
import { createTestDatabase, need, testData, uniqueQueue, type TestDatabase } from './support/helpers';
import { Background, freePort, ROOT, runCommand } from './support/processes';

const BIN = path.join(
  ROOT,
  (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.sparkify!,
);
let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let worker: Background | undefined;

const sparkify = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCommand(BIN, args, { ...env, ...extra });

beforeAll(async () => {
  const build = await runCommand('npm', ['run', '-s', 'build'], process.env, 300_000);
  expect(build.stderr).toBe('');
  expect(build.code).toBe(0);
  db = await createTestDatabase();
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: need('SPARKIFY_TEST_TEMPORAL_ADDRESS'),
    TEMPORAL_NAMESPACE: 'default',
    SPARKIFY_DEPLOYMENT: `sparkify-bin-${process.pid}`,
    TASK_QUEUE: uniqueQueue('bin'),
    WAREHOUSE_URL: db.url,
    SOURCE_URL: testData(),
    WORKFLOW_BUNDLE: need('SPARKIFY_TEST_BUNDLE'),
  };
}, 330_000);

afterAll(async () => {
  await worker?.stop('SIGKILL');
  await db?.drop();
});

test('sparkify --help lists the commands; no command or an unknown one is one line and exit 2', async () => {
  const help = await sparkify(['--help']);
  expect(help.stderr).toBe('');
  expect(help.code).toBe(0);
  expect(help.stdout.split('\n')[0]).toBe('usage: sparkify COMMAND [options]');
  for (const name of ['start', 'worker', 'etl', 'backfill', 'status', 'late', 'schedule', 'db:init', 'generate']) {
    expect(help.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  }
  const none = await sparkify([]);
  expect(none.code).toBe(2);
  expect(none.stderr.split('\n')[0]).toBe('usage: sparkify COMMAND [options]');

  const unknown = await sparkify(['frobnicate', '--from', 'x']);
  expect(unknown.code).toBe(2);
  expect(unknown.stdout).toBe('');
  expect(unknown.stderr).toBe(
    'error: unknown command "frobnicate": use one of start, worker, etl, backfill, status, late, schedule, db:init, ' +
      'generate, build:workflows (sparkify --help)\n',
  );
});

test('sparkify COMMAND --help is the command`s usage, naming sparkify; a bad option points at it', async () => {
  const help = await sparkify(['etl', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout.split('\n')[0]).toBe('usage: sparkify etl --from TIME --to TIME [options]');
  expect(help.stdout).toContain('Example: sparkify etl --from yesterday --to yesterday+1h');
  expect((await sparkify(['help', 'status'])).stdout.split('\n')[0]).toBe(
    'usage: sparkify status --from TIME --to TIME [--json]',
  );
  const bad = await sparkify(['etl', '--from', '2018-11-02T13:00Z', '--to', '2018-11-02T14:00Z', '--frobnicate']);
  expect(bad.code).toBe(2);
  expect(bad.stdout).toBe('');
  expect(bad.stderr).toBe("error: Unknown option '--frobnicate' (sparkify etl --help shows the options)\n");
  const worker = await sparkify(['worker', '--bogus']);
  expect(worker.code).toBe(2);
  expect(worker.stderr).toBe("error: Unknown option '--bogus' (sparkify worker --help shows the options)\n");
  // A command module run alone still runs (docker-compose.yml runs dist/src/cli/db-init.js and schedule.js).
  const alone = await runCommand(process.execPath, [path.join(ROOT, 'dist/src/cli/db-init.js'), '--help'], env);
  expect(alone.code).toBe(0);
  expect(alone.stdout.split('\n')[0]).toBe('usage: npm run db:init');
});

test('an unreachable Temporal server: the same message as npm run etl, exit 1', async () => {
  const port = await freePort();
  const args = ['--from', '2018-11-02T13:00Z', '--to', '2018-11-02T14:00Z'];
  const res = await sparkify(['etl', ...args], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(`error: TEMPORAL_ADDRESS (127.0.0.1:${port}): cannot reach the Temporal server: `);
  const npm = await runCommand('npm', ['run', '-s', 'etl', '--', ...args], {
    ...env,
    TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
  });
  expect(npm.code).toBe(1);
  expect(res.stderr).toBe(npm.stderr);
});

/** The output with what differs between two runs of one hour masked: the run id and each step's milliseconds. */
const masked = (out: string) =>
  out
    .replace(/\(run [0-9a-f-]+\)/g, '(run ID)')
    .replace(/^(.*\S) +(\d+) +\d+$/gm, '$1 $2 MS')
    .replace(/^(step\s+rows)\s+ms$/m, '$1 ms');

test('sparkify worker and sparkify etl: the summary, as npm run etl prints it', async () => {
  worker = new Background(BIN, ['worker'], env);
  await worker.waitFor(/worker polling task queue/, 120_000);

  const start = '2018-11-02T13:00:00.000Z';
  const end = '2018-11-02T14:00:00.000Z';
  const expected = expectedFor(testData(), start, end);
  const args = ['--from', '2018-11-02T13:00Z', '--to', '2018-11-02T14:00Z'];
  const first = await sparkify(['etl', ...args]);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const workflowId = workflowIdFor({ start, end }, env.SPARKIFY_DEPLOYMENT);
  expect(first.stdout).toMatch(
    new RegExp(`^started ${workflowId} \\(run [0-9a-f-]+\\) on task queue ${env.TASK_QUEUE}$`, 'm'),
  );
  expect(first.stdout).toContain(`SparkifyEtl ${workflowId}: ${start} .. ${end}`);
  const rowsOf = (out: string, step: string) => Number(new RegExp(`^${step}\\s+(\\d+)\\s+\\d+$`, 'm').exec(out)?.[1]);
  expect(rowsOf(first.stdout, 'stage events \\(1 file\\(s\\), \\d+ lines read\\)')).toBe(expected.staged);
  expect(rowsOf(first.stdout, 'load songplays \\(replace\\)')).toBe(expected.songplays);
  expect(first.stdout).toMatch(/^checks: \d+\/\d+ passed$/m);

  // The same hour again through each: a second run of an hour prints the same as any other second run.
  const viaNpm = await runCommand('npm', ['run', '-s', 'etl', '--', ...args], env);
  expect(viaNpm.code).toBe(0);
  const again = await sparkify(['etl', ...args]);
  expect(again.code).toBe(0);
  expect(again.stderr).toBe(viaNpm.stderr);
  expect(masked(again.stdout)).toBe(masked(viaNpm.stdout));
  expect(masked(again.stdout)).toContain('load songplays (replace) ');
});
