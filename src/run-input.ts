import type { AppConfig } from './config';
import { DEFAULT_RETRY_BUDGET } from './input';
import { DEFAULT_LOAD_MODES, type SparkifyEtlInput } from './types';

/**
 * What the runs this configuration starts do, written out in their input: every table's load mode (LOAD_MODES
 * over the defaults), the retry budget, the bad lines tolerated and what a missing event file means. The
 * schedule's action, `etl` and `backfill` start runs with it (each may add to it), so a run's input in the Web
 * UI says what the run does instead of `{"loadModes":{}}`. The interval is not in a scheduled run's input: the
 * run takes it from its scheduled time, and every run shows it as DataIntervalStart/DataIntervalEnd.
 */
export function configuredRunInput(
  config: Pick<AppConfig, 'loadModes' | 'retryBudget'>,
): Required<Pick<SparkifyEtlInput, 'loadModes' | 'retryBudget' | 'maxErrors' | 'onMissingFile'>> {
  return {
    loadModes: { ...DEFAULT_LOAD_MODES, ...config.loadModes },
    retryBudget: config.retryBudget ?? DEFAULT_RETRY_BUDGET,
    maxErrors: 0,
    onMissingFile: 'warn',
  };
}
