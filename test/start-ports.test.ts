/**
 * `npm start` when a port it needs is taken by something else: one line naming the setting that moves it,
 * instead of an HTTP/2 framing error from talking gRPC to a web server.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { testTmp } from './support/helpers';
import { freePort, runCommand } from './support/processes';

let web: Server;
let port: number;
beforeAll(async () => {
  port = await freePort();
  web = createServer((_req, res) => res.end('not temporal'));
  await new Promise<void>((resolve) => web.listen(port, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => web?.close(resolve));
});

async function start(over: Record<string, string>) {
  const env: NodeJS.ProcessEnv = { ...process.env, SPARKIFY_DATA_DIR: await mkdtemp(path.join(testTmp(), 'ports-')) };
  delete env.TEMPORAL_ADDRESS;
  return runCommand('npm', ['start', '-s'], { ...env, ...over });
}

test('a Temporal port taken by a web server names SPARKIFY_TEMPORAL_PORT', async () => {
  const res = await start({ SPARKIFY_TEMPORAL_PORT: String(port), SPARKIFY_UI_PORT: String(await freePort()) });
  expect(res.code).toBe(1);
  expect(res.stderr).toMatch(
    new RegExp(
      `^error: port ${port} is taken by something that is not a Temporal server \\(.*\\): set SPARKIFY_TEMPORAL_PORT to a free port`,
      'm',
    ),
  );
  expect(res.stderr).not.toMatch(/FRAME_SIZE_ERROR/);
});

test('a Web UI port that is taken names SPARKIFY_UI_PORT', async () => {
  const res = await start({ SPARKIFY_TEMPORAL_PORT: String(await freePort()), SPARKIFY_UI_PORT: String(port) });
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(
    `error: port ${port} (the dev server's Web UI) is taken: set SPARKIFY_UI_PORT to a free port`,
  );
});
