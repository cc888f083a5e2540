import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { SETTINGS } from '../../src/config';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Variables read by the program or the libraries it configures: envconfig reads TEMPORAL_*, the S3 client AWS_*. */
const READ_BY_THE_PROGRAM = /^(TEMPORAL_|SPARKIFY_|AWS_)/;

/**
 * The environment of a command a test runs: the calling shell's (PATH, HOME, npm's settings) without any setting
 * of the program (config.ts's SETTINGS and every TEMPORAL_, SPARKIFY_ and AWS_ variable), then `settings`. A
 * developer's own METRICS_ADDRESS, TEMPORAL_NAMESPACE or SPARKIFY_CONFIG never reaches the command under test.
 */
export function programEnv(settings: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!(name in SETTINGS) && !READ_BY_THE_PROGRAM.test(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(settings)) if (value !== undefined) env[name] = value;
  return env;
}

/** Runs a command to completion (bounded by timeoutMs), capturing its output. */
export function runCommand(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
  cwd = ROOT,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running process (the worker) whose output is collected while it runs. */
export class Background {
  readonly child: ChildProcess;
  output = '';
  private exited: Promise<number | null>;
  private closed = false;

  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT) {
    // Its own process group, so stop() can signal the whole tree as Ctrl-C in a terminal does.
    this.child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    // 'close', not 'exit': the output pipes close only when every process of the tree that holds them is gone
    // (npm exits on Ctrl-C before the program it started has finished shutting down).
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => {
        // Leave nothing of the tree behind, now: later, the group's id may be a new process's (pids wrap
        // around, at 32768 here), and a stop() then would kill another test's worker.
        this.signalGroup('SIGKILL');
        this.closed = true;
        resolve(code);
      }),
    );
  }

  /** Resolves once `pattern` appears in the output; rejects if the process exits or the deadline passes. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void this.exited.then(() => (done = true));
    while (!pattern.test(this.output)) {
      if (done) throw new Error(`process exited before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The exit code, once the process has ended by itself (fails after timeoutMs). */
  async exit(timeoutMs = 60_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${this.output}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      // already gone
    }
  }

  /** Sends `signal` to the process group and waits for the exit code (SIGKILL after timeoutMs). */
  async stop(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 30_000): Promise<number | null> {
    if (this.closed) return this.child.exitCode; // its group was killed when it closed
    this.signalGroup(signal);
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** A TCP port nobody listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
