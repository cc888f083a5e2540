/**
 * Status after a missing day file arrives (issue #14): the hour is stale (the file added), and until a run
 * loads it, it is not loaded: "loaded through" and the freshness gauge stop before it. Real dev server, real
 * PostgreSQL, the real commands as child processes. This file's data: 2019-06-01 .. 2019-06-02 (no other test
 * file uses those days).
 */
import { randomUUID } from 'node:crypto';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { generate } from '../src/datagen/generate';
import { eventFileKey } from '../src/source';
import { commandEnv, testTmp, uniqueQueue, useTemporalEnv, useTestDatabase, withWorker } from './support/helpers';
import { runCommand } from './support/processes';

const env = useTemporalEnv();
const db = useTestDatabase();

interface StatusJson {
  hours: { start: string; state: string; missingFiles?: string[]; reason?: string }[];
  totals: Record<string, number>;
  loadedThrough: string | null;
}

test('a missing day file that arrives: its hour is stale, still shows the file its run missed, and is not counted as loaded until a run loads it', async () => {
  const dir = path.join(testTmp(), `late-status-${process.pid}`);
  await generate({ out: dir, start: '2019-06-01', days: 2, eventsPerDay: 400, songs: 40, seed: 601 });
  const day2 = eventFileKey('2019-06-02');
  const aside = path.join(dir, 'aside.json');
  await rename(path.join(dir, day2), aside);
  const taskQueue = uniqueQueue('late-status');
  const deployment = `lates-${randomUUID().slice(0, 8)}`;
  const cli = commandEnv({ taskQueue, deployment, warehouseUrl: db.url, source: dir });
  const npm = (cmd: string, ...args: string[]) => runCommand('npm', ['run', '-s', cmd, '--', ...args], cli, 300_000);
  const statusJson = async () => {
    const r = await npm('status', '--from', '2019-06-01T22:00Z', '--to', '2019-06-02T01:00Z', '--json');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as StatusJson;
  };
  await withWorker(env, { taskQueue, pool: db.pool, source: dir }, async () => {
    // 22:00 and 23:00 of day 1 loaded; 00:00 of day 2 run without its day file (missing_file).
    expect((await npm('etl', '--from', '2019-06-01T22:00Z', '--to', '2019-06-02T01:00Z')).code).toBe(0);
    const before = await statusJson();
    expect(before.hours.map((h) => h.state)).toEqual(['loaded', 'loaded', 'missing_file']);
    expect(before.loadedThrough).toBe('2019-06-02T00:00:00.000Z');

    // The file arrives; a dry run refreshes the index and re-runs nothing.
    await rename(aside, path.join(dir, day2));
    const dry = await npm('late', '--lookback', '5000d', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`(late data: ${day2} added)`);
    const stale = await statusJson();
    expect(stale.hours[2]).toMatchObject({ state: 'stale', missingFiles: [day2] });
    expect(stale.hours[2]!.reason).toContain(`${day2} added`);
    // Not loaded yet: the hour holds nothing of the file.
    expect(stale.loadedThrough).toBe('2019-06-02T00:00:00.000Z');
    const text = await npm('status', '--from', '2019-06-01T22:00Z', '--to', '2019-06-02T01:00Z');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('loaded through 2019-06-02T00:00Z');

    // The cycle loads it: now it counts.
    const cycle = await npm('late', '--lookback', '5000d');
    expect(cycle.code).toBe(0);
    const after = await statusJson();
    expect(after.hours[2]!.state).toMatch(/^(loaded|empty)$/);
    expect(after.loadedThrough).toBe('2019-06-02T01:00:00.000Z');
  });
}, 600_000);
