#!/usr/bin/env node
/**
 * `sparkify COMMAND [options]`: the project's commands as one executable (package.json `bin`), run as compiled
 * JavaScript (dist/src/cli/sparkify.js, made by `npm run build`; `npm run setup` builds it). The npm scripts
 * are aliases that run this file's source through tsx (`npm run etl` is `sparkify etl`).
 *
 * Why it answers quickly: npm and tsx take about a second to start before a command does anything; node on
 * compiled code takes tens of milliseconds. Only the chosen command's module is loaded (etl loads the
 * Temporal client, not pg or the worker SDK), and V8's compile cache keeps what it compiled for the next call.
 */
import nodeModule from 'node:module';
import { setFlagsFromString } from 'node:v8';
import path from 'node:path';
import { echo } from '../printable';
import { invokedThrough, type Command } from './args';
import { exitAfterOutput } from './exit';

// Before the command's modules load (./args is small). Only for the compiled code: tsx compiles the sources itself.
if (__filename.endsWith('.js')) (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

/**
 * The commands, loaded only when asked for. `require`, not `import()`: in CommonJS, import() goes through the
 * ES module loader, which costs a few more milliseconds for nothing.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, { about: string; quick?: true; load: () => { command: Command } }> = {
  start: {
    about: 'the whole local pipeline: dev server, warehouse, sample data, worker, schedules',
    load: () => require('./start'),
  },
  worker: { about: 'the worker process alone, on TASK_QUEUE', load: () => require('../worker') },
  etl: { about: 'run one interval now and print its summary', quick: true, load: () => require('./etl') },
  backfill: {
    about: 'run every hour of a range, skipping the hours already loaded',
    load: () => require('./backfill'),
  },
  status: {
    about: 'every hour of a range: loaded, empty, stale, failed, running or missing',
    quick: true,
    load: () => require('./status'),
  },
  late: { about: 'one cycle of the late-data watcher now', load: () => require('./late') },
  schedule: {
    about: 'the hourly schedule: up, pause, unpause, trigger, describe, delete',
    quick: true,
    load: () => require('./schedule'),
  },
  'db:init': {
    about: 'create the warehouse database and apply the schema',
    quick: true,
    load: () => require('./db-init'),
  },
  generate: { about: 'write synthetic Sparkify data (log_data/, song_data/)', load: () => require('./generate') },
  'build:workflows': {
    about: 'prebuild the workflow bundle for WORKFLOW_BUNDLE',
    load: () => require('./build-workflow-bundle'),
  },
};
/* eslint-enable @typescript-eslint/no-require-imports */

const USAGE = `usage: sparkify COMMAND [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, { about }]) => `  ${name.padEnd(16)} ${about}`)
  .join('\n')}

sparkify COMMAND --help shows a command's options (sparkify help COMMAND too). Settings come from the
environment (and SPARKIFY_CONFIG): see the README's configuration table. npm run COMMAND runs the same.`;

function dispatch(argv: string[]): void {
  let [name, ...args] = argv;
  if (name === 'help' && args[0] && !args[0].startsWith('-')) [name, args] = [args[0], ['--help']];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) {
      console.error(USAGE);
      return exitAfterOutput(2);
    }
    console.log(USAGE);
    return exitAfterOutput(0);
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    console.error(
      `error: unknown command "${echo(name)}": use one of ${Object.keys(COMMANDS).join(', ')} (sparkify --help)`,
    );
    return exitAfterOutput(2);
  }
  // A quick command spends its CPU loading code it runs once: V8's optimizing compiler (TurboFan) would only
  // compile functions that are never called again, on a thread the worker and the server may need meanwhile.
  // Not for the commands that run long or compute (worker, start, backfill, generate, build:workflows).
  // Nor, for the same reason, incremental marking: the Temporal client's modules fill the old generation past the
  // point where V8 starts marking it, for a full collection that frees little of a heap the process is about to
  // drop; without it, V8 collects the old generation only when the heap reaches its limit.
  if (entry.quick) {
    setFlagsFromString('--no-opt');
    setFlagsFromString('--no-incremental-marking');
  }
  // The command reads its options from process.argv, as it does when it runs alone.
  process.argv.splice(2, process.argv.length - 2, ...args);
  let command: Command;
  try {
    ({ command } = entry.load());
  } catch (err) {
    const missing = missingModule(err);
    if (!missing) throw err;
    console.error(missing);
    return exitAfterOutput(2);
  }
  // Under `npm run etl` (the alias) the messages name the npm script, as they always did.
  if (process.env.npm_lifecycle_event !== name) invokedThrough(`sparkify ${name}`);
  command.run();
}

const ROOT = path.resolve(__dirname, __filename.endsWith('.js') ? '../../..' : '../..');

/**
 * What to say when a command's module, or one it needs, is not there: a file of the project missing (a
 * half-built dist/: the build was stopped, or a file was removed) is fixed by building again, as bin/sparkify.js
 * says when nothing is built; a package missing from node_modules by installing. Undefined for other errors.
 */
function missingModule(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown; requireStack?: unknown };
  if (e?.code !== 'MODULE_NOT_FOUND' || typeof e.message !== 'string') return undefined;
  const name = /^Cannot find module '([^']+)'/.exec(e.message)?.[1];
  if (!name) return undefined;
  const from = Array.isArray(e.requireStack) && typeof e.requireStack[0] === 'string' ? e.requireStack[0] : undefined;
  const where = (file: string) => path.relative(process.cwd(), file) || file;
  if (name.startsWith('.') || path.isAbsolute(name)) {
    const file = from ? path.resolve(path.dirname(from), name) : name;
    const ext = path.extname(__filename);
    return (
      `error: sparkify is not fully built (no ${where(file.endsWith(ext) ? file : file + ext)}): run \`npm run build\` ` +
      `in ${ROOT} (npm run setup does it), or use the npm scripts (npm run etl -- ...), which need no build`
    );
  }
  return (
    `error: the package ${name} is not installed (${from ? `${where(from)} needs it` : 'a command needs it'}): ` +
    `run \`npm ci\` in ${ROOT}`
  );
}

dispatch(process.argv.slice(2));
