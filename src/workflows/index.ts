// The workflow bundle's entry point: every workflow type the worker registers.
export { SparkifyEtl } from './sparkify-etl';
export { LateDataWatcher } from './late-data-watcher';
