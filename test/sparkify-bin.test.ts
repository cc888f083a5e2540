/**
 * The `sparkify` executable as a user runs it: package.json's bin (bin/sparkify.js) over the compiled commands,
 * built here first with `npm run build` as `npm run setup` builds them. Its worker serves a task queue of its own;
 * `sparkify etl` prints what `npm run etl` prints; unknown commands and options are one line and exit 2.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { makeInterval, workflowIdFor } from '../src/interval';
import { expectedFor } from './support/expected';
import { createTestDatabase, need, testData, testTmp, uniqueQueue, type TestDatabase } from './support/helpers';
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

test('a metrics port already taken: sparkify worker names METRICS_ADDRESS, exit 1', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(taken.address() as AddressInfo).port}`;
  try {
    const res = await runCommand(BIN, ['worker'], { ...env, METRICS_ADDRESS: address }, 60_000);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `METRICS_ADDRESS ${address}: the port is taken (another worker, or another npm start?): set METRICS_ADDRESS to a free host:port`,
    );
  } finally {
    taken.close();
  }
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

/**
 * The command's stdout (or its stderr) through a pipe whose reader starts a second late, as in
 * `sparkify status --json | (sleep 3; wc -c)`: a command that exits without waiting for its output to be written
 * out loses what did not fit the pipe (64 KiB). The exit code is the command's (pipefail); the other stream is
 * dropped.
 */
async function readSlowly(
  stream: 'stdout' | 'stderr',
  cmd: string,
  args: string[],
  extra: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; text: string; other: string }> {
  const redirect = stream === 'stdout' ? '' : '2>&1 >/dev/null';
  const res = await runCommand(
    'bash',
    ['-c', `set -o pipefail; "$@" ${redirect} | { sleep 1; cat; }`, 'bash', cmd, ...args],
    { ...env, ...extra },
  );
  return { code: res.code, text: res.stdout, other: res.stderr };
}

describe('output longer than a pipe holds is written out whole before the command exits', () => {
  const args = ['status', '--from', 'today-300d', '--to', 'now', '--json'];

  test('sparkify status --json over 300 days (about 7200 hours), read by a slow reader', async () => {
    const res = await readSlowly('stdout', BIN, args);
    expect(res.other).toBe('');
    expect(res.code).toBe(0);
    expect(res.text.length).toBeGreaterThan(4 * 65_536);
    const status = JSON.parse(res.text) as { hours: unknown[] };
    expect(status.hours.length).toBeGreaterThanOrEqual(300 * 24);
  });

  test('npm run -s status, the same', async () => {
    const res = await readSlowly('stdout', 'npm', ['run', '-s', args[0]!, '--', ...args.slice(1)]);
    expect(res.code).toBe(0);
    expect((JSON.parse(res.text) as { hours: unknown[] }).hours.length).toBeGreaterThanOrEqual(300 * 24);
  });

  test('an error message longer than a pipe holds (4000 problems in SPARKIFY_CONFIG), exit 2', async () => {
    const dir = mkdtempSync(path.join(testTmp(), 'bin-config-'));
    const file = path.join(dir, 'many.json');
    const settings = Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`NOT_A_SETTING_${i}`, 'x']));
    writeFileSync(file, JSON.stringify(settings));
    const res = await readSlowly('stderr', BIN, ['status', '--from', 'yesterday', '--to', 'today'], {
      SPARKIFY_CONFIG: file,
    });
    expect(res.code).toBe(2);
    expect(res.text.length).toBeGreaterThan(4 * 65_536);
    expect(res.text.match(/unknown setting "NOT_A_SETTING_\d+"/g)).toHaveLength(4000);
    expect(res.text).toMatch(/unknown setting "NOT_A_SETTING_3999" \(known: see the README's configuration table\)\n$/);
  });
});

describe('SPARKIFY_CONFIG: what cannot be a settings file is named, and no word of a broken file is printed', () => {
  const dir = () => mkdtempSync(path.join(testTmp(), 'bin-config-'));
  const status = (file: string) =>
    runCommand(BIN, ['status', '--from', 'yesterday', '--to', 'today'], { ...env, SPARKIFY_CONFIG: file }, 20_000);

  test('broken JSON holding secrets: its line and column only', async () => {
    const file = path.join(dir(), 'broken.json');
    writeFileSync(
      file,
      '{"WAREHOUSE_URL": "postgres://u:SuperSecret123@127.0.0.1:1/x",\n "TEMPORAL_API_KEY": tok_LIVE_abc}',
    );
    const res = await status(file);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(
      `error: invalid configuration:\n  - SPARKIFY_CONFIG=${file} cannot be read as JSON: unexpected character at ` +
        'line 2, column 23\n',
    );
    writeFileSync(file, '{"WAREHOUSE_URL": "postgres://u:SuperSecret123@h/x"\n\n  "TASK_QUEUE": "q"}');
    const other = await status(file);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(
      `cannot be read as JSON: expected ',' or '}' after property value at line 3, column 3`,
    );
    expect(other.stderr).not.toContain('Secret');
  });

  test('a byte-order mark before the JSON (as editors on Windows write it) is not an error', async () => {
    const file = path.join(dir(), 'bom.json');
    writeFileSync(file, '\uFEFF{"LATE_DATA_EVERY": "bogus"}');
    const res = await status(file);
    expect(res.code).toBe(2);
    // read as JSON: the problem named is the setting's value, not the file
    expect(res.stderr).toContain('LATE_DATA_EVERY');
    expect(res.stderr).not.toContain('cannot be read as JSON');
  });

  test('a FIFO (would wait forever), /dev/zero (would fill the memory), a directory, a file over 1 MiB: exit 2', async () => {
    const d = dir();
    const fifo = path.join(d, 'settings.fifo');
    execFileSync('mkfifo', [fifo]);
    const big = path.join(d, 'big.json');
    const bigText = `{"TASK_QUEUE": "${'q'.repeat(1024 * 1024)}"}`;
    writeFileSync(big, bigText);
    const cases: [string, string][] = [
      [fifo, 'is a FIFO, not a regular file: name a JSON file of settings'],
      ['/dev/zero', 'is a device, not a regular file: name a JSON file of settings'],
      [d, 'is a directory, not a regular file: name a JSON file of settings'],
      [
        big,
        `is ${bigText.length} bytes; a settings file may hold at most 1048576 (1 MiB): name a JSON file of settings`,
      ],
      [path.join(d, 'none.json'), 'does not exist'],
    ];
    for (const [file, message] of cases) {
      const res = await status(file);
      expect(res.stderr).toBe(`error: invalid configuration:\n  - SPARKIFY_CONFIG=${file} ${message}\n`);
      expect(res.code).toBe(2);
    }
  });
});

test('a half-built dist/: the build is named, not a stack; a missing package is named as one', async () => {
  // A copy of dist/ inside the project, so that it finds node_modules as dist/ does.
  const copy = path.join(ROOT, `.sparkify-bin-dist-${process.pid}`);
  try {
    cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
    const main = path.join(copy, 'dist/src/cli/sparkify.js');
    const statusJs = path.join(copy, 'dist/src/cli/status.js');
    const compiled = readFileSync(statusJs, 'utf8');
    unlinkSync(statusJs);
    const half = await runCommand(process.execPath, [main, 'status', '--from', 'yesterday', '--to', 'today'], env);
    expect(half.code).toBe(2);
    expect(half.stdout).toBe('');
    expect(half.stderr).toBe(
      `error: sparkify is not fully built (no ${path.relative(ROOT, statusJs)}): run \`npm run build\` in ${copy} ` +
        '(npm run setup does it), or use the npm scripts (npm run etl -- ...), which need no build\n',
    );
    writeFileSync(statusJs, `require('sparkify-no-such-package');\n${compiled}`);
    const dependency = await runCommand(process.execPath, [main, 'status'], env);
    expect(dependency.code).toBe(2);
    expect(dependency.stderr).toBe(
      `error: the package sparkify-no-such-package is not installed (${path.relative(ROOT, statusJs)} needs it): ` +
        `run \`npm ci\` in ${copy}\n`,
    );
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('values from the command line are echoed printable and shortened; the earliest time is named', async () => {
  const escape = await sparkify(['\u001b[31mred\u001b[0m']);
  expect(escape.code).toBe(2);
  expect(escape.stderr).toMatch(/^error: unknown command "\\u001b\[31mred\\u001b\[0m": use one of start, /);

  const digits = '1'.repeat(100_000);
  const long = await sparkify(['etl', '--from', digits, '--to', 'now']);
  expect(long.code).toBe(2);
  expect(long.stderr).toBe(
    `error: --from "${'1'.repeat(80)}… (100000 characters)" is not a time such as 2018-11-15T13:00Z, a date such ` +
      'as 2018-11-15, or now, today, yesterday, tomorrow (moved like now-6h, today-2d) (sparkify etl --help shows the options)\n',
  );
  const option = await sparkify(['etl', '--from', 'now', '--to', 'now', `--x${'y'.repeat(500)}\u0007`]);
  expect(option.code).toBe(2);
  expect(option.stderr).toBe(
    `error: Unknown option '--x${'y'.repeat(77)}… (504 characters)' (sparkify etl --help shows the options)\n`,
  );

  const first = await sparkify(['etl', '--from', '0001-01-01', '--to', 'now']);
  expect(first.code).toBe(2);
  expect(first.stderr).toBe(
    'error: --from 0001-01-01 is before the earliest time this tool handles, 0100-01-01T00:00Z; give a later ' +
      '--from (sparkify etl --help shows the options)\n',
  );
});

describe('no worker: the hint names the command as invoked and the deployment; a signal leaves the run going', () => {
  let connection: Connection;
  let client: Client;
  beforeAll(async () => {
    connection = await Connection.connect({ address: need('SPARKIFY_TEST_TEMPORAL_ADDRESS') });
    client = new Client({ connection });
  });
  afterAll(async () => {
    await connection?.close();
  });
  const terminate = (id: string) =>
    client.workflow
      .getHandle(id)
      .terminate('test done')
      .catch(() => undefined);

  test('sparkify etl: "sparkify worker with SPARKIFY_DEPLOYMENT=…", and SIGTERM says the run goes on (exit 143)', async () => {
    const queue = uniqueQueue('nobody');
    const etl = new Background(BIN, ['etl', '--from', '2018-11-03T15:00Z', '--to', '2018-11-03T16:00Z'], {
      ...env,
      TASK_QUEUE: queue,
    });
    const id = workflowIdFor(makeInterval('2018-11-03T15:00Z', '2018-11-03T16:00Z'), env.SPARKIFY_DEPLOYMENT);
    try {
      await etl.waitFor(/no worker has picked up the run/, 60_000);
      expect(etl.output).toMatch(
        new RegExp(
          `no worker has picked up the run for \\d+ s: is a worker running on task queue "${queue}"\\? ` +
            `\\(sparkify worker with SPARKIFY_DEPLOYMENT=${env.SPARKIFY_DEPLOYMENT} and TASK_QUEUE=${queue}\\)`,
        ),
      );
      expect(await etl.stop('SIGTERM')).toBe(143);
      expect(etl.output).toMatch(
        new RegExp(`\nstopped waiting; run [\\w-]+ of ${id} goes on\\. Run the same command again to attach to it`),
      );
      expect((await client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
    } finally {
      await terminate(id);
    }
  }, 90_000);

  test.each([
    ['', '2018-11-06', []],
    [' --reprocess all', '2018-11-07', ['--reprocess', 'all']],
  ] as const)(
    'sparkify backfill%s, SIGINT while its runs wait: they go on, named by their workflow ids',
    async (_, day, extra) => {
      const queue = uniqueQueue('nobody-backfill');
      const range = ['--from', `${day}T00:00Z`, '--to', `${day}T02:00Z`, ...extra];
      const ids = [0, 1].map((h) =>
        workflowIdFor(makeInterval(`${day}T0${h}:00Z`, `${day}T0${h + 1}:00Z`), env.SPARKIFY_DEPLOYMENT),
      );
      const backfill = new Background(BIN, ['backfill', ...range], { ...env, TASK_QUEUE: queue });
      try {
        const deadline = Date.now() + 30_000;
        const running = async () => {
          let n = 0;
          for await (const w of client.workflow.list({ query: `TaskQueue = "${queue}"` })) if (w.workflowId) n++;
          return n;
        };
        while ((await running()) < 2) {
          if (Date.now() > deadline) throw new Error(`the backfill's runs did not start:\n${backfill.output}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(await backfill.stop('SIGINT')).toBe(130);
        const resume = extra.length
          ? // the same command would run every hour again: the advice says how to finish instead
            '. To finish, run it again without --reprocess all (--reprocess all would run every hour once more): it ' +
            'skips the hours completed, joins those still running and runs the rest\n'
          : '. Run the same command again: it skips the hours completed, joins those still running and runs the rest\n';
        expect(backfill.output).toContain(
          `\nstopped: no more hours are started; the runs already started or joined go on (workflow ids ${ids[0]} .. ` +
            `${ids[1]})${resume}`,
        );
        for (const id of ids) expect((await client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
      } finally {
        await backfill.stop('SIGKILL');
        for (const id of ids) await terminate(id);
      }
    },
  );

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('sparkify late, %s while it waits: the cycle goes on, named by its workflow id', async (signal, code) => {
    const queue = uniqueQueue('nobody-late');
    const late = new Background(BIN, ['late'], { ...env, TASK_QUEUE: queue });
    let id: string | undefined;
    try {
      const deadline = Date.now() + 30_000;
      while (!id) {
        if (Date.now() > deadline) throw new Error(`no late-data cycle on ${queue}:\n${late.output}`);
        for await (const w of client.workflow.list({ query: `TaskQueue = "${queue}"` })) id = w.workflowId;
        if (!id) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(await late.stop(signal)).toBe(code);
      expect(late.output).toBe(
        `\nstopped waiting; late-data cycle ${id} goes on (the worker carries it out). See it with: temporal ` +
          `workflow show --workflow-id ${id}; stop it with: temporal workflow cancel --workflow-id ${id}\n`,
      );
      expect(id).toMatch(new RegExp(`^${env.SPARKIFY_DEPLOYMENT}-late-data-now-`));
      expect((await client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
    } finally {
      if (id) await terminate(id);
      await late.stop('SIGKILL');
    }
  });
});
