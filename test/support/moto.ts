/**
 * moto's S3-compatible server (from PyPI, scripts/provision-moto.sh) on a free local port: the tests' stand-in
 * for AWS S3, which cannot be reached here. The process environment gets the endpoint override and test
 * credentials, as a worker's would; `secretAccessKey` is what must never appear in a log or a history.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { portOpen } from '../../src/local/stack';
import { Background, freePort, ROOT } from './processes';

export async function startMoto(secretAccessKey: string): Promise<Background> {
  const motoServer = execFileSync('bash', [path.join(ROOT, 'scripts/provision-moto.sh')], { encoding: 'utf8' }).trim();
  const port = await freePort();
  const moto = new Background(motoServer, ['-H', '127.0.0.1', '-p', String(port)], process.env);
  const deadline = Date.now() + 30_000;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`moto did not start:\n${moto.output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: 'AKIATESTSPARKIFY',
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_REGION: 'us-east-1',
  });
  return moto;
}
