/**
 * What a process checks before it starts work: that the warehouse answers and its schema is migrated, that
 * the source is readable, that Temporal answers. What cannot heal by waiting fails here, at once, with one
 * message naming the setting to fix and what was seen, e.g.
 * `WAREHOUSE_URL (postgres://sparkify@127.0.0.1:5999/sparkify): connection refused`.
 * A module of its own (preflight.ts re-exports it), so that a command reaching Temporal only, such as `etl`,
 * does not load pg and the source modules with it.
 */
export class PreflightError extends Error {
  override name = 'PreflightError';
}
