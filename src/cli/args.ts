import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config';
import { echo, printable } from '../printable';
import { IntervalError, type Interval } from '../interval';
import { exitAfterOutput } from './exit';
import { intervalFromTimes } from './times';
import { shortIso } from '../times';

/** A request the command will not carry out as asked (it says why and what to do): exit code 2. */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

/** A mistake on the command line: one line pointing at --help, exit code 2, nothing started. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseCommandLine<T extends NonNullable<ParseArgsConfig['options']>>(
  options: T,
  argv = process.argv.slice(2),
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    // Node's own advice on positionals that start with '-' does not apply to these commands.
    throw new UsageError((err as Error).message.split('. To specify a positional argument')[0]!);
  }
}

/** A command of `sparkify` (src/cli/sparkify.ts): its usage text, and what runs it (it exits with its code). */
export interface Command {
  usage: string;
  run(): void;
}

/** `sparkify etl` when the command runs through the sparkify executable; unset for the npm scripts. */
let invokedAs: string | undefined;

/** Called by sparkify before the command runs: its usage and its errors then name `sparkify <command>`. */
export function invokedThrough(name: string): void {
  invokedAs = name;
}

/**
 * A command module's command. It runs at once when its module is the process's entry point
 * (`node dist/src/cli/db-init.js`, as docker-compose.yml does); imported, as sparkify imports the one it is
 * asked for, it starts nothing.
 */
export function defineCommand(entry: NodeJS.Module, usage: string, fn: () => Promise<number | void>): Command {
  const command: Command = { usage, run: () => main(usage, fn) };
  if (require.main === entry) command.run();
  return command;
}

/**
 * The usage text as this invocation should show it: written for the npm script (`usage: npm run etl -- ...`,
 * `npm run etl -- --from ...` in examples), it names `sparkify etl` when sparkify runs the command.
 */
export function usageText(usage: string): string {
  const npm = /^usage: (npm (?:run )?[\w:]+)/.exec(usage)?.[1];
  if (!invokedAs || !npm) return usage;
  return usage
    .replaceAll(`${npm} -- `, `${invokedAs} `)
    .replaceAll(`${npm} [-- `, `${invokedAs} [`)
    .replaceAll(npm, invokedAs);
}

/**
 * Runs a command's main. Exit codes: 0 ok; 1 the run failed, or a service did not answer as it should;
 * 2 usage or configuration. The usage text is for --help: a usage error is its message and where help is.
 */
export function main(usage: string, fn: () => Promise<number | void>): void {
  fn().then(
    (code) => exitAfterOutput(code ?? 0),
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(`error: ${echoArguments(err.message)} (${helpCommand(usage)} shows the options)`);
        return exitAfterOutput(2);
      }
      if (err instanceof ConfigError || err instanceof RefusedError) {
        console.error(`error: ${echoArguments(err.message)}`);
        return exitAfterOutput(2);
      }
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      exitAfterOutput(1);
    },
  );
}

/**
 * A message as it may echo the command line: each argument in it that is long or holds control characters is
 * shown printable and shortened (echo()), so that `--from <100000 digits>` is not printed back whole and an
 * escape sequence in an argument does not reach the terminal. The messages quote the values as given.
 */
export function echoArguments(message: string, argv = process.argv.slice(2)): string {
  const values = argv.flatMap((a) => (/^--?[^=]+=/.test(a) ? [a, a.slice(a.indexOf('=') + 1)] : [a]));
  let out = message;
  for (const value of [...new Set(values)].sort((a, b) => b.length - a.length)) {
    const shown = echo(value);
    if (value && shown !== value) out = out.replaceAll(value, shown);
  }
  return out;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM while the command waits on something that goes on without it (a run, a cycle):
 * prints `what` (what goes on and how to see it) and exits with 128 + the signal's number (130, 143) once the
 * message is out. Returns a function that removes the handlers (call it when the wait is over).
 */
export function sayOnInterrupt(what: () => string): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = () => {
      console.error(`\n${what()}`);
      exitAfterOutput(signal === 'SIGINT' ? 130 : 143);
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  };
}

/** A command as this invocation names commands: `sparkify etl` or `npm run etl`. */
export function commandNamed(name: string): string {
  return invokedAs ? `sparkify ${name}` : `npm run ${name}`;
}

/**
 * A command line for the user to run, as this invocation names commands (`npm run etl -- --from ...`,
 * `sparkify etl --from ...`), each argument quoted for a POSIX shell where it needs it; undefined when an
 * argument holds a character that cannot be printed as it is (a control character).
 */
export function commandLine(name: string, args: readonly string[]): string | undefined {
  if (args.some((a) => printable(a) !== a)) return undefined;
  const quoted = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
  return invokedAs ? `sparkify ${name} ${quoted}` : `npm run ${name} -- ${quoted}`;
}

/** A time of an interval as a command line gives it: `2018-11-02T17:00Z` (seconds when it has any). */
export const timeArgument = (iso: string): string => shortIso(Date.parse(iso));

/** The command that starts a worker, as this invocation names commands: `sparkify worker` or `npm run worker`. */
export function workerCommand(): string {
  return commandNamed('worker');
}

/** `npm run etl -- --help`, from the usage text's first line `usage: npm run etl -- ...`; `sparkify etl --help`. */
export function helpCommand(usage: string): string {
  if (invokedAs) return `${invokedAs} --help`;
  const m = /^usage: (npm (?:run )?[\w:]+)/.exec(usage);
  return m ? `${m[1]} -- --help` : '--help';
}

/** For commands that take no options but --help: prints the usage and says so when asked. */
export function helpOnly(usage: string): boolean {
  const { values, positionals } = parseCommandLine({ help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(usageText(usage));
    return true;
  }
  if (positionals.length) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  return false;
}

/**
 * A whole-number option in decimal digits: `--max-errors ""` (an unset variable in a script) is refused, not read as
 * 0, and so are the other forms Number() takes (`0x10`, `1e3`, `+3`) and numbers past 2^53.
 */
export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

/** `--from` and `--to` as an interval (TIME: see times.ts); a missing or bad value is a usage error. */
export function intervalOption(from: string | undefined, to: string | undefined, nowMs = Date.now()): Interval {
  if (!from || !to) throw new UsageError('--from and --to are required');
  try {
    return intervalFromTimes(from, to, nowMs);
  } catch (err) {
    if (err instanceof IntervalError) throw new UsageError(err.message);
    throw err;
  }
}
