/**
 * The README's promise, as a new user meets it: from a fresh clone, the set-up command (which also builds the
 * sparkify command), then `npm start`; within 90 s the dev server's HTTP API lists completed SparkifyEtl runs,
 * and the late-data watcher has its schedule; Ctrl-C leaves no process behind.
 * The clone brings its own Temporal CLI (pip) and, told to, its own embedded PostgreSQL.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { portOpen } from '../src/local/stack';
import { Background, ROOT, runCommand, freePort } from './support/processes';

function processesUnder(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', dir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

test('fresh clone: `npm run setup`, `npm start`, completed runs within 90 s, nothing left after Ctrl-C', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-clone-'));
  let start: Background | undefined;
  try {
    // mkdtemp makes a private (0700) folder; a clone usually lands in one others may enter, and the embedded
    // PostgreSQL, run as its own user when we are root, needs to (npm start says so otherwise).
    await chmod(dir, 0o755);
    execFileSync('git', ['clone', '--quiet', ROOT, dir]);
    // A user's environment: none of the test run's settings, no Temporal CLI on PATH.
    const userEnv: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^(TEMPORAL_|WAREHOUSE_|SOURCE_URL|SPARKIFY_|TASK_QUEUE|SCHEDULE_|METRICS_|LOG_|JEST|npm_)/.test(k),
      ),
    );
    userEnv.PATH = (process.env.PATH ?? '')
      .split(':')
      .filter((p) => !p.includes('.tools'))
      .join(':');
    const setup = await runCommand('npm', ['run', 'setup'], userEnv, 300_000, dir);
    expect(setup.code).toBe(0);
    expect(setup.stdout).toContain('set-up done');
    // The set-up built the sparkify command: the clone's bin runs the compiled commands.
    const sparkify = await runCommand(path.join(dir, 'bin', 'sparkify.js'), ['--help'], userEnv, 60_000, dir);
    expect(sparkify.stderr).toBe('');
    expect(sparkify.code).toBe(0);
    expect(sparkify.stdout).toMatch(/^usage: sparkify COMMAND/);

    const [temporalPort, uiPort, pgPort, metricsPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const startedAt = Date.now();
    start = new Background(
      'npm',
      ['start'],
      {
        ...userEnv,
        SPARKIFY_TEMPORAL_PORT: String(temporalPort),
        SPARKIFY_UI_PORT: String(uiPort),
        SPARKIFY_EMBEDDED_PG: '1',
        SPARKIFY_EMBEDDED_PG_PORT: String(pgPort),
        METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
      },
      dir,
    );
    const query = encodeURIComponent("WorkflowType = 'SparkifyEtl' AND ExecutionStatus = 'Completed'");
    let completed = 0;
    while (Date.now() - startedAt < 90_000) {
      try {
        const res = await fetch(`http://127.0.0.1:${uiPort}/api/v1/namespaces/default/workflows?query=${query}`);
        if (res.ok) completed = ((await res.json()) as { executions?: unknown[] }).executions?.length ?? 0;
      } catch {
        // not up yet
      }
      if (completed > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const elapsed = Date.now() - startedAt;
    if (completed === 0) throw new Error(`no completed run within 90 s; npm start printed:\n${start.output}`);
    expect(elapsed).toBeLessThan(90_000);
    expect(start.output).toContain('warehouse (embedded)');
    expect(start.output).toContain('generated sample data');
    expect(start.output).toMatch(/created schedule sparkify-etl-hourly; catching up \d+ hourly run\(s\)/);
    // ... and the late-data watcher's schedule beside it, as `npm run schedule -- up` makes it
    expect(start.output).toContain(
      'created schedule sparkify-etl-late-data (late-data watcher every 5m, lookback 30d)',
    );
    // the server is on a port of its own: the banner says how the other shells find it
    expect(start.output).toContain(
      `for the other commands, in other shells: export TEMPORAL_ADDRESS=127.0.0.1:${temporalPort}; ` +
        `export WAREHOUSE_URL=postgres://postgres:postgres@127.0.0.1:${pgPort}/`,
    );
    const watcher = await fetch(
      `http://127.0.0.1:${uiPort}/api/v1/namespaces/default/schedules/sparkify-etl-late-data`,
    );
    expect(watcher.status).toBe(200);
    expect(JSON.stringify(await watcher.json())).toContain('"LateDataWatcher"');

    await start.stop('SIGINT', 60_000);
    expect(start.output).toMatch(/stopped\s*$/);
    expect(processesUnder(dir)).toEqual([]);
    expect(await portOpen(temporalPort)).toBe(false);
    expect(await portOpen(pgPort)).toBe(false);
  } finally {
    // Ctrl-C first, also after a failed assertion: npm start stops the servers it started (a dev server runs in a
    // process group of its own, which a SIGKILL of npm's group would leave behind); SIGKILL after 60 s.
    await start?.stop('SIGINT', 60_000);
    await rm(dir, { recursive: true, force: true });
  }
}, 420_000);
