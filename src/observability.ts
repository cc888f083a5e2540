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

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export function jsonLogLine(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return JSON.stringify({ time, level: entry.level, message: entry.message, ...entry.meta }, jsonSafe);
}

export function installRuntime(s: ObservabilitySettings): DefaultLogger {
  const logger =
    s.logFormat === 'json'
      ? new DefaultLogger(s.logLevel, (entry) => process.stdout.write(jsonLogLine(entry) + '\n'))
      : new DefaultLogger(s.logLevel);
  Runtime.install({
    logger,
    telemetryOptions: {
      // With JSON logs, the SDK core's own warnings (retried gRPC calls, ...) go through the same logger, so
      // every line stays JSON; for people the core prints them itself.
      ...(s.logFormat === 'json'
        ? { logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} } }
        : {}),
      ...(s.metricsAddress ? { metrics: { prometheus: { bindAddress: s.metricsAddress } } } : {}),
    },
  });
  return logger;
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
