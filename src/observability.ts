import { UNEXPECTED } from './failures';
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';

/**
 * Logs and metrics of a worker process. Logs are one JSON object per line (LOG_FORMAT=json, the default)
 * carrying what the SDK attaches (namespace, task queue, workflow id and run id, activity type) plus what
 * the pipeline adds (interval, rows); LOG_FORMAT=pretty prints them for people. Metrics are the SDK's
 * (temporal_*) and the pipeline's (sparkify_*), served for Prometheus at METRICS_ADDRESS/metrics.
 */
export interface ObservabilitySettings {
  logFormat: 'json' | 'pretty';
  logLevel: LogLevel;
  metricsAddress?: string;
}

/**
 * An error the pipeline raised on purpose (bad data, bad config, bad input, a failed check, a transient
 * condition it retries) is logged as its type and one-line message; a stack is only worth printing for what
 * nobody expected (a bug, an unclassified error).
 */
function expected(err: Error): boolean {
  const type = (err as { type?: unknown }).type;
  if (typeof type === 'string') return type !== UNEXPECTED;
  // A workflow's failure reaches the log through the sandbox without its type, as an Error whose stack
  // still starts with the class the workflow threw: the workflow only throws ApplicationFailures on purpose.
  return err.name === 'ApplicationFailure' || (err.stack ?? '').startsWith('ApplicationFailure:');
}

function logSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    const type = (value as { type?: unknown }).type;
    return {
      name: value.name,
      ...(typeof type === 'string' ? { type } : {}),
      message: value.message,
      ...(expected(value) ? {} : { stack: value.stack }),
    };
  }
  return value;
}

export function jsonLogLine(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return JSON.stringify({ time, level: entry.level, message: entry.message, ...entry.meta }, logSafe);
}

/** For people: one line per entry (a stack only for the unexpected), ids and details after the message. */
export function prettyLogLine(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const { error, ...rest } = (entry.meta ?? {}) as Record<string, unknown>;
  const meta = Object.keys(rest).length ? ` ${JSON.stringify(rest, logSafe)}` : '';
  let cause = '';
  if (error instanceof Error) {
    cause = `: ${error.message}`;
    if (!expected(error) && error.stack) cause += `\n${error.stack}`;
  } else if (error !== undefined) cause = `: ${String(error)}`;
  return `${time} [${entry.level}] ${entry.message}${cause}${meta}`;
}

export function installRuntime(s: ObservabilitySettings): DefaultLogger {
  const format = s.logFormat === 'json' ? jsonLogLine : prettyLogLine;
  const logger = new DefaultLogger(s.logLevel, (entry) => process.stdout.write(format(entry) + '\n'));
  try {
    installWith(s, logger);
  } catch (err) {
    // The SDK's words ("Failed to start prometheus metrics exporter: Address already in use") name no setting.
    const message = err instanceof Error ? err.message : String(err);
    if (s.metricsAddress && /metrics exporter/i.test(message))
      throw new Error(
        `METRICS_ADDRESS ${s.metricsAddress}: ${/in use/i.test(message) ? 'the port is taken (another worker, or another npm start?)' : message}: ` +
          'set METRICS_ADDRESS to a free host:port',
        { cause: err },
      );
    throw err;
  }
  return logger;
}

function installWith(s: ObservabilitySettings, logger: DefaultLogger): void {
  Runtime.install({
    logger,
    telemetryOptions: {
      // With JSON logs, the SDK core's own warnings (retried gRPC calls, ...) go through the same logger, so
      // every line stays JSON; for people the core prints them itself.
      ...(s.logFormat === 'json'
        ? { logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} } }
        : {}),
      ...(s.metricsAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress: s.metricsAddress,
                // The SDK's default buckets are milliseconds; a run takes from a fraction of a second to hours.
                histogramBucketOverrides: {
                  sparkify_run_duration_seconds: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600],
                },
              },
            },
          }
        : {}),
    },
  });
}

/**
 * Keeps a second Ctrl-C from killing the process while it shuts down in order. The SDK's runtime stops
 * listening after the first signal, and npm/tsx relay the terminal's signal to the program again, so
 * without a listener of our own that repeat would end the process with the default action, half-way
 * through closing connections and stopping services. A third signal still exits at once.
 */
export function holdSignalsDuringShutdown(
  say: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
): void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (count === 3) {
      say(`${signal} again: exiting without finishing the shutdown`);
      process.exit(130);
    }
  };
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, onSignal);
}
