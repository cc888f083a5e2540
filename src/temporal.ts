import { Connection, Client } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { settingsEnv } from './config';
import { PreflightError } from './preflight';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Temporal connection settings come from @temporalio/envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS*, or a profile in temporal.toml. Defaults: localhost:7233, "default".
 * envconfig reads the variables from `env`, the environment over the SPARKIFY_CONFIG file (loadConfig()'s
 * `config.env`), so that the file's TEMPORAL_* settings reach it too.
 */
export function temporalSettings(env: Env = settingsEnv()) {
  const defined = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: defined });
  return { connectionOptions, namespace: namespace ?? 'default' };
}

/** A Temporal server that does not answer: the message names the setting and what was seen. */
function unreachable(address: string | undefined, err: unknown): PreflightError {
  const text = (err as Error)?.message ?? String(err);
  const seen = /connection ?refused/i.test(text)
    ? 'connection refused'
    : /deadline/i.test(text)
      ? 'no answer within 5 s'
      : text.split('\n')[0];
  return new PreflightError(
    `TEMPORAL_ADDRESS (${address ?? 'localhost:7233'}): cannot reach the Temporal server: ${seen} ` +
      '(is it running? `npm start` runs a local one)',
  );
}

export async function connectClient(env?: Env): Promise<{ client: Client; connection: Connection }> {
  const { connectionOptions, namespace } = temporalSettings(env);
  const connection = await Connection.connect({ connectTimeout: '5s', ...connectionOptions }).catch((err) => {
    throw unreachable(connectionOptions.address, err);
  });
  return { client: new Client({ connection, namespace }), connection };
}

export async function connectWorker(env?: Env): Promise<{ connection: NativeConnection; namespace: string }> {
  const { connectionOptions, namespace } = temporalSettings(env);
  const connection = await NativeConnection.connect(connectionOptions).catch((err) => {
    throw unreachable(connectionOptions.address, err);
  });
  return { connection, namespace };
}
