// The client's modules one by one, not its index: `sparkify etl`, which only starts and waits for a run, then
// loads neither the schedule, task-queue, activity nor Nexus clients (nor uuid, which the Nexus one needs).
import type * as ClientSdk from '@temporalio/client';
import { Connection } from '@temporalio/client/lib/connection';
import { WorkflowClient } from '@temporalio/client/lib/workflow-client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type * as WorkerSdk from '@temporalio/worker';
import { settingsEnv } from './config';
import { PreflightError } from './preflight-error';
import { CUSTOM_SEARCH_ATTRIBUTES } from './search-attributes';

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
      (process.env.TEMPORAL_ADDRESS
        ? '(is it running? With TEMPORAL_ADDRESS set, `npm start` uses that server and starts none)'
        : '(is it running? `npm start` runs a local one; with SPARKIFY_TEMPORAL_PORT, set TEMPORAL_ADDRESS for the other commands)'),
  );
}

async function connect(env?: Env): Promise<{ connection: Connection; namespace: string }> {
  const { connectionOptions, namespace } = temporalSettings(env);
  const connection = await Connection.connect({ connectTimeout: '5s', ...connectionOptions }).catch((err) => {
    throw unreachable(connectionOptions.address, err);
  });
  return { connection, namespace };
}

export async function connectClient(env?: Env): Promise<{ client: ClientSdk.Client; connection: Connection }> {
  const { connection, namespace } = await connect(env);
  // Required here, as the worker SDK below: the commands that need the whole Client load it, etl does not.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Client } = require('@temporalio/client') as typeof ClientSdk;
  return { client: new Client({ connection, namespace }), connection };
}

/** The part of a Client that starts runs and waits for them: all `sparkify etl` needs (connectWorkflows). */
export type WorkflowsClient = Pick<ClientSdk.Client, 'workflow'>;

/** connectClient for a command that only starts runs and waits for them: the rest of the Client is not loaded. */
export async function connectWorkflows(env?: Env): Promise<{ client: WorkflowsClient; connection: Connection }> {
  const { connection, namespace } = await connect(env);
  return { client: { workflow: new WorkflowClient({ connection, namespace }) }, connection };
}

export async function connectWorker(env?: Env): Promise<{ connection: WorkerSdk.NativeConnection; namespace: string }> {
  const { connectionOptions, namespace } = temporalSettings(env);
  // Required here, not imported at the top: the worker SDK (with its native core) takes longer to load than a
  // client command such as `sparkify etl` takes to run, and only the worker and `npm start` connect this way.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { NativeConnection } = require('@temporalio/worker') as typeof WorkerSdk;
  const connection = await NativeConnection.connect(connectionOptions).catch((err) => {
    throw unreachable(connectionOptions.address, err);
  });
  return { connection, namespace };
}

/**
 * A run sets the DataIntervalStart/End search attributes at its start; in a namespace that lacks them its first
 * workflow task would fail again and again. The worker refuses to start instead, with the command that adds
 * them. Returns a warning when the server does not say (no permission to list them, say).
 */
export async function checkSearchAttributes(
  connection: WorkerSdk.NativeConnection,
  namespace: string,
): Promise<string | undefined> {
  let registered: Record<string, unknown>;
  try {
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    registered = { ...res.customAttributes, ...res.systemAttributes };
  } catch (err) {
    return `could not list the search attributes of namespace ${namespace} (${(err as Error).message.split('\n')[0]}): make sure ${CUSTOM_SEARCH_ATTRIBUTES.map((a) => a.name).join(' and ')} are registered (docs/operations.md)`;
  }
  const missing = CUSTOM_SEARCH_ATTRIBUTES.filter((a) => !(a.name in registered));
  if (missing.length === 0) return undefined;
  throw new PreflightError(
    `namespace ${namespace} lacks the search attribute(s) ${missing.map((a) => a.name).join(', ')} that every run sets: ` +
      `register them once with \`temporal operator search-attribute create --namespace ${namespace} ` +
      `${missing.map((a) => `--name ${a.name}`).join(' ')} --type Datetime\``,
  );
}
