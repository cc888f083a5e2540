import { Connection, Client } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { settingsEnv } from './config';

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

export async function connectClient(env?: Env): Promise<{ client: Client; connection: Connection }> {
  const { connectionOptions, namespace } = temporalSettings(env);
  const connection = await Connection.connect(connectionOptions);
  return { client: new Client({ connection, namespace }), connection };
}

export async function connectWorker(env?: Env): Promise<{ connection: NativeConnection; namespace: string }> {
  const { connectionOptions, namespace } = temporalSettings(env);
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}
