/**
 * Late and corrected data (issue #14) where the source goes wrong: a day file deleted (its loaded hours held,
 * their rows kept) or never there (the hour is missing_file, not empty), an hour whose re-run fails on something other than a bad line (left alone until
 * its source changes, so that it cannot starve the others), a file name with control characters (shown escaped
 * on one line), an event file that vanishes between the listing and the reading (left out of the index). Real
 * dev server, real PostgreSQL, the real commands as child processes. This file's data: generated for
 * 2019-04-01 .. 2019-04-02 (no other test file uses those days), each test under its own deployment name.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PoolClient } from 'pg';
import { formatCycle } from '../src/cli/late';
import { generate } from '../src/datagen/generate';
import { eventFileKey } from '../src/source';
import type { LateDataWatcherResult } from '../src/workflows/late-data-watcher';
import {
  commandEnv,
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
  return commandEnv({ taskQueue, deployment, warehouseUrl: db.url, source });
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

/** A NextSong line of `day`'s file moved to `atMs`, in a session of its own: a late event of that hour. */
async function lateEvent(dir: string, day: string, atMs: number, sessionId: number): Promise<string> {
  const line = (await readFile(path.join(dir, eventFileKey(day)), 'utf8'))
    .split('\n')
    .find((l) => l.includes('"NextSong"'))!;
  return line.replace(/"ts":\d+/, `"ts":${atMs}`).replace(/"sessionId":\d+/, `"sessionId":${sessionId}`);
}

const playsBetween = (from: string, to: string) =>
  count(
    db.pool,
    `SELECT count(*) FROM songplays
      WHERE start_time >= $1::timestamptz AT TIME ZONE 'UTC' AND start_time < $2::timestamptz AT TIME ZONE 'UTC'`,
    [from, to],
  );

test('a deleted day file: its loaded hours are held (rows kept), not re-run; back unchanged, nothing re-runs; another change too re-runs the hour; npm run etl loads one missing_file; back changed, they re-run', async () => {
  const dir = await dataset('deleted', 1501);
  const day1 = eventFileKey('2019-04-01');
  const taskQueue = uniqueQueue('late-deleted');
  const deployment = `lated-${randomUUID().slice(0, 8)}`;
  const { etl, late, status } = commands(cliEnv(taskQueue, deployment, dir));
  const held = (n: number, span: string) =>
    `${n} hour(s) held (${span}): ${day1} was removed since they were loaded (rows kept; put the file back,` +
    ` or run npm run etl for those hours to load them without it)`;
  const grid = async () => {
    const r = await status('2019-04-01T00:00Z', '2019-04-01T03:00Z');
    expect(r.code).toBe(0);
    return r.stdout;
  };
  await withWorker(env, { taskQueue, pool: db.pool, source: dir }, async () => {
    // Hours 00..02 of day 1 loaded (02 holds plays); 2019-04-05T10 run too, whose day file never existed
    // (onMissingFile warn).
    expect((await etl('2019-04-01T00:00Z', '2019-04-01T03:00Z')).code).toBe(0);
    const plays = await playsBetween('2019-04-01T00:00Z', '2019-04-01T03:00Z');
    expect(plays).toBeGreaterThan(0);
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

    // The day file gone (log rotation, a folder being moved): a cycle's index refresh sees it gone; the three
    // hours are stale in status, but held by the watcher, their rows kept. They take no place in the limit.
    const aside = path.join(dir, 'aside.json');
    await rename(path.join(dir, day1), aside);
    const dry = await late('--dry-run', '--max-reruns', '1');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`${day1} (gone)`);
    expect(dry.stdout).toContain('nothing to re-run\n');
    expect(dry.stdout).toContain(held(3, '2019-04-01T00:00Z .. 2019-04-01T02:00Z'));
    expect(dry.stdout).not.toContain('would re-run');
    expect(dry.stdout).not.toContain('wait for the next cycle');
    const stale = await grid();
    expect(stale).toMatch(/^2019-04-01 {2}~~~$/m);
    // (the three hours were loaded by one run of 00..03)
    expect(stale).toContain(
      `  2019-04-01T00h  ${deployment}-2019-04-01T00:00:00Z--2019-04-01T03:00:00Z  late data: ${day1} removed`,
    );
    expect(stale).toContain('but holds those whose only change is a removed file');
    const cycle = await late();
    expect(cycle.stderr).toBe('');
    expect(cycle.code).toBe(0);
    expect(cycle.stdout).toContain('nothing to re-run\n');
    expect(cycle.stdout).toContain(held(3, '2019-04-01T00:00Z .. 2019-04-01T02:00Z'));
    expect(await runsOf(deployment, '2019-04-01T01:00Z')).toEqual(['succeeded']);
    expect(await playsBetween('2019-04-01T00:00Z', '2019-04-01T03:00Z')).toBe(plays);

    // The file back as it was: nothing stale, nothing re-run.
    await rename(aside, path.join(dir, day1));
    const back = await late();
    expect(back.code).toBe(0);
    expect(back.stdout).toContain(`${day1} (read)`);
    expect(back.stdout).toContain('nothing to re-run: every loaded hour read what its files hold now');
    expect(back.stdout).not.toContain('held');
    expect(await grid()).toMatch(/^2019-04-01 {2}[#-]{3}$/m);
    expect(await runsOf(deployment, '2019-04-01T01:00Z')).toEqual(['succeeded']);

    // Gone again, and a late file of hour 01 added: 01 has a real change besides and is re-run (without the day
    // file: missing_file); 00 and 02 are held.
    await rename(path.join(dir, day1), aside);
    const lateFile = 'log_data/2019/04/late-01.json';
    await writeFile(
      path.join(dir, lateFile),
      `${await lateEvent(dir, '2019-04-02', Date.parse('2019-04-01T01:30Z'), 777101)}\n`,
    );
    // (with a limit of one re-run a cycle: the held hours take no place in it)
    const mixed = await late('--max-reruns', '1');
    expect(mixed.stderr).toBe('');
    expect(mixed.code).toBe(0);
    expect(mixed.stdout).toContain('re-ran 1 hour(s):');
    expect(mixed.stdout).not.toContain('wait for the next cycle');
    expect(mixed.stdout).toContain(
      `  2019-04-01T01:00Z  ${deployment}-2019-04-01T02:00:00Z  succeeded  (late data: ${day1} removed, ${lateFile} added)`,
    );
    expect(mixed.stdout).toContain(held(2, '2019-04-01T00:00Z .. 2019-04-01T02:00Z'));
    expect(await grid()).toMatch(/^2019-04-01 {2}~\?~$/m);

    // npm run etl of a held hour loads it without the file, as asked: missing_file, its rows gone.
    const manual = await etl('2019-04-01T02:00Z', '2019-04-01T03:00Z');
    expect(manual.code).toBe(0);
    expect(manual.stdout + manual.stderr).toContain(`missing event file(s): ${day1}`);
    const text = await grid();
    expect(text).toMatch(/^2019-04-01 {2}~\?\?$/m);
    expect(text).toContain('  ? missing file (its day file was not in the source)');
    expect(text).toContain(`  2019-04-01T02h  ${deployment}-2019-04-01T03:00:00Z  missing: ${day1}`);
    expect(await playsBetween('2019-04-01T02:00Z', '2019-04-01T03:00Z')).toBe(0);
    const json = JSON.parse((await status('2019-04-01T00:00Z', '2019-04-01T03:00Z', '--json')).stdout) as StatusJson;
    expect(json.hours.map((h) => [h.state, h.missingFiles])).toEqual([
      ['stale', undefined],
      ['missing_file', [day1]],
      ['missing_file', [day1]],
    ]);
    // (a held hour's rows are there: it counts as loaded)
    expect(json.loadedThrough).toBe('2019-04-01T01:00:00.000Z');
    expect((await late('--dry-run')).stdout).toContain(held(1, '2019-04-01T00:00Z'));

    // The file back changed (a late play of hour 00 appended): 00 changed, 01 and 02 see it added: all re-run.
    await appendFile(aside, `${await lateEvent(dir, '2019-04-02', Date.parse('2019-04-01T00:40Z'), 777102)}\n`);
    await rename(aside, path.join(dir, day1));
    const changed = await late();
    expect(changed.stderr).toBe('');
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain('re-ran 3 hour(s):');
    expect(changed.stdout).toContain(
      `2019-04-01T00:00Z  ${deployment}-2019-04-01T01:00:00Z  succeeded  (late data: ${day1} changed)`,
    );
    expect(changed.stdout).toContain(
      `2019-04-01T02:00Z  ${deployment}-2019-04-01T03:00:00Z  succeeded  (late data: ${day1} added)`,
    );
    expect(changed.stdout).not.toContain('held');
    const loaded = JSON.parse((await status('2019-04-01T00:00Z', '2019-04-01T03:00Z', '--json')).stdout) as StatusJson;
    for (const h of loaded.hours) expect(h.state).toBe('loaded');
    expect(loaded.loadedThrough).toBe('2019-04-01T03:00:00.000Z');
    expect(await playsBetween('2019-04-01T00:00Z', '2019-04-01T03:00Z')).toBe(plays + 2);
    expect((await late('--dry-run')).stdout).toContain(
      'nothing to re-run: every loaded hour read what its files hold now',
    );
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
    // The day file replaced by a folder of that name (a shipper gone wrong), and a late event of the hour
    // arrived: the file is gone from the listing, another was added (the hour is stale, and not held: its
    // change is not a removal alone), and a run of the hour fails, naming the folder.
    const aside = path.join(dir, 'aside.json');
    await rename(path.join(dir, day2), aside);
    await mkdir(path.join(dir, day2));
    await writeFile(
      path.join(dir, 'log_data/2019/04/late-05.json'),
      `${await lateEvent(dir, '2019-04-01', Date.parse(H.start) + 60_000, 777201)}\n`,
    );
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
      expect(next.stdout).toContain('fix the cause, then npm run etl that hour, or change its lines in a file');
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
    // The day file replaced by a link loop, and a late event of the hour arrived (a removal alone is held).
    const aside = path.join(dir, 'aside.json');
    await rename(path.join(dir, day2), aside);
    await symlink(path.basename(day2), path.join(dir, day2));
    await writeFile(
      path.join(dir, 'log_data/2019/04/late-07.json'),
      `${await lateEvent(dir, '2019-04-01', Date.parse(H.start) + 60_000, 777301)}\n`,
    );
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
    const line = (await readFile(path.join(dir, eventFileKey('2019-04-02')), 'utf8'))
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
