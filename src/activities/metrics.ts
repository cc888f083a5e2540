import { Context } from '@temporalio/activity';

/**
 * The pipeline's own metrics, exported with the SDK's (the activity context's meter already carries
 * namespace, task queue and activity type). Named as Prometheus expects: `_total` counters, `_seconds`
 * histograms. The workflow itself counts finished runs (sparkify_runs_total).
 */
export const metrics = {
  rows(name: 'staged' | 'loaded', n: number, tags: Record<string, string>): void {
    const help = name === 'staged' ? 'Rows copied into staging tables' : 'Rows inserted or changed in star tables';
    Context.current().metricMeter.createCounter(`sparkify_rows_${name}_total`, 'rows', help).add(n, tags);
  },
  checkFailures(n: number, tags: Record<string, string> = {}): void {
    Context.current()
      .metricMeter.createCounter('sparkify_check_failures_total', 'checks', 'Data-quality checks that failed')
      .add(n, tags);
  },
  runDuration(seconds: number, tags: Record<string, string>): void {
    Context.current()
      .metricMeter.createHistogram(
        'sparkify_run_duration_seconds',
        'float',
        's',
        'SparkifyEtl wall time from the start of the run to its audit record, by status',
      )
      .record(seconds, tags);
  },
};
