/**
 * Late and corrected data (issue #14) where the source goes wrong: a day file deleted or never there (the hour
 * is missing_file, not empty), an hour whose re-run fails on something other than a bad line (left alone until
 * its source changes, so that it cannot starve the others), a file name with control characters (shown escaped
 * on one line), an event file that vanishes between the listing and the reading (left out of the index). Real
 * dev server, real PostgreSQL, the real commands as child processes. This file's data: generated for
 * 2019-04-01 .. 2019-04-02 (no other test file uses those days), each test under its own deployment name.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PoolClient } from 'pg';
import { formatCycle } from '../src/cli/late';
import { generate } from '../src/datagen/generate';
import { eventFileKey } from '../src/source';
import type { LateDataWatcherResult } from '../src/workflows/late-data-watcher';
import {
  count,
  testTmp,
  uniqueQueue,
  untilBackend,
  useTemporalEnv,
  useTestDatabase,
  withWorker,
} from './support/helpers';
import { runCommand } from './support/processes';

const env = useTemporalEnv();
const db = useTestDatabase();

const DAYS = { start: '2019-04-01', days: 2, eventsPerDay: 400, songs: 60 };

async function dataset(label: string, seed: number): Promise<string> {
  const dir = path.join(testTmp(), `late-failures-${label}-${process.pid}`);
  await generate({ out: dir, ...DAYS, seed });
  return dir;
}

function cliEnv(taskQueue: string, deployment: string, source: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.SPARKIFY_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    TASK_QUEUE: taskQueue,
    SPARKIFY_DEPLOYMENT: deployment,
    WAREHOUSE_URL: db.url,
    SOURCE_URL: source,
  };
}

function commands(cli: NodeJS.ProcessEnv) {
  return {
    etl: (from: string, to: string, ...args: string[]) =>
      runCommand('npm', ['run', '-s', 'etl', '--', '--from', from, '--to', to, ...args], cli, 300_000),
    late: (...args: string[]) =>
      runCommand('npm', ['run', '-s', 'late', '--', '--lookback', '5000d', ...args], cli, 300_000),
    status: (from: string, to: string, ...args: string[]) =>
      runCommand('npm', ['run', '-s', 'status', '--', '--from', from, '--to', to, ...args], cli),
  };
}

/** The statuses of the runs whose interval holds the hour starting at `hourStart`, oldest first. */
async function runsOf(deployment: string, hourStart: string): Promise<string[]> {
  const res = await db.pool.query<{ status: string }>(
    `SELECT status FROM etl_runs WHERE workflow_id LIKE $1
        AND interval_start <= $2::timestamptz AT TIME ZONE 'UTC' AND interval_end > $2::timestamptz AT TIME ZONE 'UTC'
      ORDER BY finished_at`,
    [`${deployment}-%`, hourStart],
  );
  return res.rows.map((r) => r.status);
}

interface StatusJson {
  hours: { start: string; state: string; missingFiles?: string[]; reason?: string }[];
  totals: Record<string, number>;
  loadedThrough: string | null;
}

test('a deleted day file: its hours are stale, then, re-run, missing_file (naming the file) and not loaded; not re-run every cycle; the file back re-runs them', async () => {
  const dir = await dataset('deleted', 1501);
  const day1 = eventFileKey('2019-04-01');
  const taskQueue = uniqueQueue('late-deleted');
  const deployment = `lated-${randomUUID().slice(0, 8)}`;
  const { etl, late, status } = commands(cliEnv(taskQueue, deployment, dir));
  await withWorker(env, { taskQueue, pool: db.pool, source: dir }, async () => {
    // Hours 00..02 of day 1 loaded; 2019-04-05T10 run too, whose day file never existed (onMissingFile warn).
    expect((await etl('2019-04-01T00:00Z', '2019-04-01T03:00Z')).code).toBe(0);
    const never = await etl('2019-04-05T10:00Z', '2019-04-05T11:00Z');
    expect(never.code).toBe(0);
    expect(never.stdout + never.stderr).toContain(`missing event file(s): ${eventFileKey('2019-04-05')}`);
    const before = await status('2019-04-05T10:00Z', '2019-04-05T11:00Z');
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/^2019-04-05 {2}[ ]{6} [ ]{4}\?$/m);
    expect(before.stdout).toContain('missing_file 1');
    expect(before.stdout).toContain(
      `  2019-04-05T10h  ${deployment}-2019-04-05T11:00:00Z  missing: ${eventFileKey('2019-04-05')}`,
    );
    expect(before.stdout).toContain('loaded through: no hour of the range is loaded');

    // The day file deleted: a cycle's index refresh sees it gone, and the three hours are stale.
    const aside = path.join(dir, 'aside.json');
    await rename(path.join(dir, day1), aside);
    const dry = await late('--dry-run', '--max-reruns', '2');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`${day1} (gone)`);
    expect(dry.stdout).toContain('2 of 3 stale hours would be re-run now (the oldest); 1 wait for the next cycle');
    expect(dry.stdout).toContain('dry run: would re-run 2 hour(s):');
    expect(dry.stdout).toContain(
      `  2019-04-01T00:00Z  ${deployment}-2019-04-01T01:00:00Z  (late data: ${day1} removed)`,
    );
    expect(dry.stdout).not.toContain('2019-04-01T02:00Z');
    const stale = await status('2019-04-01T00:00Z', '2019-04-01T03:00Z');
    expect(stale.stdout).toMatch(/^2019-04-01 {2}~~~$/m);

    // Re-run: each a recorded run with the file missing, shown as missing_file, and not loaded.
    const cycle = await late();
    expect(cycle.stderr).toBe('');
    expect(cycle.code).toBe(0);
    expect(cycle.stdout).toContain('re-ran 3 hour(s):');
    expect(cycle.stdout.match(/ succeeded /g)).toHaveLength(3);
    const text = await status('2019-04-01T00:00Z', '2019-04-01T03:00Z');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^2019-04-01 {2}\?\?\?$/m);
    expect(text.stdout).toContain('  ? missing file (its day file was not in the source)');
    expect(text.stdout).toMatch(/ {2}stale 0 {2}missing_file 3 {2}failed 0 /);
    expect(text.stdout).toContain(`  2019-04-01T01h  ${deployment}-2019-04-01T02:00:00Z  missing: ${day1}`);
    expect(text.stdout).toContain('loaded through: no hour of the range is loaded');
    const json = JSON.parse((await status('2019-04-01T00:00Z', '2019-04-01T03:00Z', '--json')).stdout) as StatusJson;
    expect(json.hours.map((h) => [h.state, h.missingFiles])).toEqual(Array(3).fill(['missing_file', [day1]]));
    expect(json.loadedThrough).toBeNull();
    expect(json.totals).toMatchObject({ loaded: 0, empty: 0, missing_file: 3 });

    // Not re-run again while the file stays away.
    const again = await late('--dry-run');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to re-run');
    expect(await runsOf(deployment, '2019-04-01T01:00Z')).toEqual(['succeeded', 'succeeded']);

    // The file back: the hours are stale (the file added) and the next cycle loads them again.
    await rename(aside, path.join(dir, day1));
    const back = await late();
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('re-ran 3 hour(s):');
    expect(back.stdout).toContain(`(late data: ${day1} added)`);
    const loaded = JSON.parse((await status('2019-04-01T00:00Z', '2019-04-01T03:00Z', '--json')).stdout) as StatusJson;
    // (an hour of the generated day may hold no events: empty, a loaded state too)
    for (const h of loaded.hours) expect(h.state).toMatch(/^(loaded|empty)$/);
    expect(loaded.totals.missing_file).toBe(0);
    expect(loaded.loadedThrough).toBe('2019-04-01T03:00:00.000Z');
  });
}, 600_000);

test('an hour whose re-run fails on a listing error (a folder named like its day file) is re-run once while nothing changes, and again once the file is fixed', async () => {
  const dir = await dataset('folder', 1502);
  const day2 = eventFileKey('2019-04-02');
  const H = { start: '2019-04-02T05:00Z', end: '2019-04-02T06:00Z' };
  const taskQueue = uniqueQueue('late-folder');
  const deployment = `latef-${randomUUID().slice(0, 8)}`;
  const { etl, late, status } = commands(cliEnv(taskQueue, deployment, dir));
  await withWorker(env, { taskQueue, pool: db.pool, source: dir }, async () => {
    expect((await etl(H.start, H.end)).code).toBe(0);
    // The day file replaced by a folder of that name (a shipper gone wrong): the file is gone from the listing
    // (the hour is stale), and a run of the hour fails, naming it.
    const aside = path.join(dir, 'aside.json');
    await rename(path.join(dir, day2), aside);
    await mkdir(path.join(dir, day2));
    const first = await late();
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('re-ran 1 hour(s):');
    expect(first.stdout).toMatch(new RegExp(`2019-04-02T05:00Z .* failed: .*${day2} in .* exists but is not a file`));
    // Nothing changed since: the next cycles leave it alone and say so, with what to do.
    for (const args of [['--dry-run'], []]) {
      const next = await late(...args);
      expect(next.code).toBe(0);
      expect(next.stdout).toContain('nothing to re-run');
      expect(next.stdout).toContain(
        '1 failed hour(s) left alone: nothing in their source changed since they failed, so a re-run would fail the same way',
      );
      expect(next.stdout).toContain('fix the cause, then npm run etl that hour, or change a file that feeds it');
    }
    expect(await runsOf(deployment, H.start)).toEqual(['succeeded', 'failed']);
    const grid = await status('2019-04-02T00:00Z', '2019-04-02T06:00Z', '--json');
    expect((JSON.parse(grid.stdout) as StatusJson).hours[5]).toMatchObject({ state: 'failed' });

    // Fixed: the folder removed, the file back. The hour's source changed since the failure: re-run, loaded.
    await rm(path.join(dir, day2), { recursive: true });
    await rename(aside, path.join(dir, day2));
    const fixed = await late();
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('re-ran 1 hour(s):');
    expect(fixed.stdout).toMatch(new RegExp(`2019-04-02T05:00Z .* succeeded .*\\(late data: ${day2} added\\)`));
    expect(await runsOf(deployment, H.start)).toEqual(['succeeded', 'failed', 'succeeded']);
    const quiet = await late('--dry-run');
    expect(quiet.stdout).toContain('nothing to re-run: every loaded hour read what its files hold now');
  });
}, 600_000);

test('an hour whose re-run fails on a file that cannot be opened (a link loop where its day file was; EACCES is alike, but tests run as root) is not re-run every cycle', async () => {
  const dir = await dataset('loop', 1505);
  const day2 = eventFileKey('2019-04-02');
  const H = { start: '2019-04-02T07:00Z', end: '2019-04-02T08:00Z' };
  const taskQueue = uniqueQueue('late-loop');
  const deployment = `latel-${randomUUID().slice(0, 8)}`;
  // One attempt: an error such as this one is retried within the budget (it may be fixed meanwhile).
  const { etl, late } = commands({ ...cliEnv(taskQueue, deployment, dir), RETRY_BUDGET: '0s' });
  await withWorker(env, { taskQueue, pool: db.pool, source: dir }, async () => {
    expect((await etl(H.start, H.end)).code).toBe(0);
    const aside = path.join(dir, 'aside.json');
    await rename(path.join(dir, day2), aside);
    await symlink(path.basename(day2), path.join(dir, day2));
    const first = await late();
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(new RegExp(`2019-04-02T07:00Z .* failed: .*ELOOP`));
    const next = await late('--dry-run');
    expect(next.code).toBe(0);
    expect(next.stdout).toContain('nothing to re-run');
    expect(next.stdout).toContain('1 failed hour(s) left alone');
    expect(await runsOf(deployment, H.start)).toEqual(['succeeded', 'failed']);
    // The file back: re-run, loaded.
    await rm(path.join(dir, day2));
    await rename(aside, path.join(dir, day2));
    const fixed = await late();
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toMatch(new RegExp(`2019-04-02T07:00Z .* succeeded .*\\(late data: ${day2} added\\)`));
  });
}, 300_000);

test('npm run status shows a stale reason naming a file with a newline and an escape sequence on one printable line', async () => {
  const dir = await dataset('names', 1503);
  const H = { start: '2019-04-01T08:00Z', end: '2019-04-01T09:00Z' };
  const taskQueue = uniqueQueue('late-names');
  const deployment = `laten-${randomUUID().slice(0, 8)}`;
  const { etl, late, status } = commands(cliEnv(taskQueue, deployment, dir));
  await withWorker(env, { taskQueue, pool: db.pool, source: dir }, async () => {
    expect((await etl(H.start, H.end)).code).toBe(0);
    // A late file of H's events, its name holding a newline and an ANSI "clear screen".
    const line = (await readFile(path.join(dir, eventFileKey('2019-04-01')), 'utf8'))
      .split('\n')
      .find((l) => l.includes('"NextSong"'))!;
    const late1 = line
      .replace(/"ts":\d+/, `"ts":${Date.parse(H.start) + 60_000}`)
      .replace(/"sessionId":\d+/, '"sessionId":777001');
    const name = 'log_data/2019/04/late\n\u001b[2Jfile.json';
    await writeFile(path.join(dir, name), `${late1}\n`);
    expect((await late('--dry-run')).code).toBe(0);
    const text = await status('2019-04-01T08:00Z', '2019-04-01T09:00Z');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `  2019-04-01T08h  ${deployment}-2019-04-01T09:00:00Z  late data: log_data/2019/04/late\\u000a\\u001b[2Jfile.json added`,
    );
    expect(text.stdout).not.toContain('\u001b');
    expect(text.stdout.split('\n').filter((l) => l.includes('late\\u000a'))).toHaveLength(1);
    const json = JSON.parse((await status('2019-04-01T08:00Z', '2019-04-01T09:00Z', '--json')).stdout) as StatusJson;
    expect(json.hours[0]!.reason).toBe('late data: log_data/2019/04/late\\u000a\\u001b[2Jfile.json added');
  });
}, 300_000);

test('an event file that vanishes between the listing and the reading is left out of the index: the cycle and the next run go on', async () => {
  const dir = await dataset('vanish', 1504);
  const H = { start: '2019-04-02T10:00Z', end: '2019-04-02T11:00Z' };
  const taskQueue = uniqueQueue('late-vanish');
  const deployment = `latev-${randomUUID().slice(0, 8)}`;
  const { etl, late } = commands(cliEnv(taskQueue, deployment, dir));
  await withWorker(env, { taskQueue, pool: db.pool, source: dir }, async () => {
    expect((await etl(H.start, H.end)).code).toBe(0);
    const vanishing = 'log_data/2019/04/vanishing-events.json';
    await writeFile(path.join(dir, vanishing), '{"ts":1554199200000,"page":"Home"}\n');
    // The index's writer waits for its lock after listing (and before reading the new file): the test holds
    // the lock, deletes the file once the cycle waits for it, then lets it go.
    const holder: PoolClient = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext('sparkify-etl:source-index'))`);
      const cycle = late('--dry-run');
      await untilBackend(db, `query LIKE '%pg_try_advisory_xact_lock%' AND pid <> pg_backend_pid()`, 'the wait', 100);
      await rm(path.join(dir, vanishing));
      await holder.query('COMMIT');
      const done = await cycle;
      expect(done.stderr).toBe('');
      expect(done.code).toBe(0);
      expect(done.stdout).toContain('nothing to re-run');
    } finally {
      holder.release();
    }
    expect(await count(db.pool, 'SELECT count(*) FROM source_files WHERE path = $1', [vanishing])).toBe(0);
    // Left out at once, not after a failed attempt (a retry would list the files again and not see it).
    const query = `WorkflowType = 'LateDataWatcher' AND WorkflowId STARTS_WITH '${deployment}-late-data-now-'`;
    const cycles: string[] = [];
    // visibility is eventually consistent: polled, with a deadline
    for (const deadline = Date.now() + 20_000; cycles.length === 0 && Date.now() < deadline;) {
      for await (const w of env.client.workflow.list({ query })) cycles.push(w.workflowId);
      if (cycles.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(cycles).toHaveLength(1);
    const history = await env.client.workflow.getHandle(cycles[0]!).fetchHistory();
    const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    expect(started.length).toBeGreaterThanOrEqual(2);
    for (const e of started) expect(e.activityTaskStartedEventAttributes!.attempt).toBe(1);
    // And a run after it loads its hour as usual.
    const next = await etl('2019-04-02T11:00Z', '2019-04-02T12:00Z');
    expect(next.code).toBe(0);
  });
}, 300_000);

test('npm run late refuses a lookback beyond 100 years at once, saying what it takes', async () => {
  const cli = cliEnv(uniqueQueue('late-lookback'), `latel-${randomUUID().slice(0, 8)}`, testTmp());
  const refused = await runCommand('npm', ['run', '-s', 'late', '--', '--lookback', '10000000d'], cli);
  expect(refused.code).toBe(2);
  expect(refused.stdout).toBe('');
  expect(refused.stderr).toContain(
    'error: --lookback must be a duration from 1h to 36500d (100 years) such as 48h or 30d, got "10000000d"',
  );
  const setting = await runCommand('npm', ['run', '-s', 'late', '--', '--dry-run'], {
    ...cli,
    LATE_DATA_LOOKBACK: '10000000d',
  });
  expect(setting.code).toBe(2);
  expect(setting.stderr).toContain('LATE_DATA_LOOKBACK=10000000d must be a duration from 1h to 36500d (100 years)');
});

test('two cycles at once: each header counts the hours it re-ran and those it skipped (in progress) apart', async () => {
  const dir = await dataset('twice', 1507);
  const day1 = eventFileKey('2019-04-01');
  const taskQueue = uniqueQueue('late-twice');
  const deployment = `latet-${randomUUID().slice(0, 8)}`;
  const { etl, late } = commands(cliEnv(taskQueue, deployment, dir));
  await withWorker(env, { taskQueue, pool: db.pool, source: dir }, async () => {
    expect((await etl('2019-04-01T00:00Z', '2019-04-01T12:00Z')).code).toBe(0);
    // The day file corrected: every play of hours 00 to 11 renamed, so that each of those loaded hours is stale.
    const file = path.join(dir, day1);
    const changed = new Set<string>();
    const corrected = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => {
        const e = JSON.parse(line) as { ts: number; page: string; song: string };
        const hour = new Date(e.ts).toISOString().slice(0, 13);
        if (e.page !== 'NextSong' || hour >= '2019-04-01T12') return line;
        changed.add(hour);
        return JSON.stringify({ ...e, song: `${e.song} (remastered)` });
      });
    await writeFile(file, corrected.join('\n') + '\n');
    expect(changed.size).toBeGreaterThan(6);

    const cycles = await Promise.all([late(), late()]);
    const rerun = new Set<string>();
    for (const cycle of cycles) {
      expect(cycle.stderr).toBe('');
      expect(cycle.code).toBe(0);
      if (cycle.stdout.includes('nothing to re-run')) continue; // the other cycle had re-run them all already
      const header = /^re-ran (\d+) hour\(s\)(?:, skipped (\d+) \(a run of the hour was in progress\))?:$/m.exec(
        cycle.stdout,
      );
      expect(header?.[0] ? '' : cycle.stdout).toBe('');
      const succeeded = [...cycle.stdout.matchAll(/^ {2}(2019-04-01T\d\d):00Z .* succeeded /gm)].map((m) => m[1]!);
      const skipped = (cycle.stdout.match(/ skipped \(a run of the hour is in progress\) /g) ?? []).length;
      expect(Number(header![1])).toBe(succeeded.length);
      expect(Number(header![2] ?? 0)).toBe(skipped);
      for (const h of succeeded) rerun.add(h);
    }
    // Each changed hour re-run by one of the two at least.
    expect([...rerun].sort()).toEqual([...changed].sort());
  });
}, 600_000);

test('the header of a cycle that found hours in progress: re-ran and skipped counted apart', () => {
  const base = {
    index: { location: '/data', files: 2, indexed: 1, removed: 0, named: [] },
    from: '2019-04-01T00:00:00.000Z',
    to: '2019-04-03T00:00:00.000Z',
    dryRun: false,
  };
  const rerun = (h: string, outcome: string) => ({
    start: `2019-04-01T${h}:00:00.000Z`,
    end: `2019-04-01T${h}:59:59.999Z`,
    workflowId: `d-2019-04-01T${h}`,
    reason: `late data: ${eventFileKey('2019-04-01')} changed`,
    outcome,
  });
  const text = formatCycle({
    ...base,
    reruns: [
      rerun('00', 'succeeded'),
      rerun('01', 'skipped (a run of the hour is in progress)'),
      rerun('02', 'skipped (a run of the hour is in progress)'),
    ],
  } as unknown as LateDataWatcherResult);
  expect(text).toContain('\nre-ran 1 hour(s), skipped 2 (a run of the hour was in progress):\n');
  expect(text).toContain(
    '  2019-04-01T01:00Z  d-2019-04-01T01  skipped (a run of the hour is in progress)  (late data: ',
  );
  const plain = formatCycle({ ...base, reruns: [rerun('00', 'succeeded')] } as unknown as LateDataWatcherResult);
  expect(plain).toContain('\nre-ran 1 hour(s):\n');
});
