import path from 'node:path';
import type { PoolClient } from 'pg';
import { toMs } from '../interval';
import { stagingKeyOf, TABLES, type CheckResult, type CheckSpec, type ChecksInput, type ChecksResult } from '../types';
import { inReadOnlyTransaction, withClient } from '../warehouse/pool';
import { classify, rethrowForActivity } from '../warehouse/errors';
import type { Dialect, Statement } from '../warehouse/dialect';
import { duplicatesCheckedInInterval, runStagingTable } from '../warehouse/tables';
import type { CheckDefinition } from './check-files';
import { couldNotRun, runCustomCheck, selectedDefinitions, type CustomCheckSettings } from './custom-checks';
import { dialectOf, type ActivityDeps } from './deps';
import { elapsed, whileHeartbeating } from './progress';
import { recordedRunAfter } from './recorded';

function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`returned ${JSON.stringify(value)}, which is not a number`);
  return n;
}

/** Reads one number. */
async function number(client: PoolClient, statement: Statement): Promise<number | null> {
  const res = await client.query(statement);
  const first = res.rows[0] as Record<string, unknown> | undefined;
  return toNumber(first ? Object.values(first)[0] : null);
}

/** Reads several counts at once (Dialect.countsAtOnce), in their order. */
async function numbers(client: PoolClient, sql: Dialect, counts: Statement[]): Promise<(number | null)[]> {
  const res = await client.query(sql.countsAtOnce(counts));
  const row = (res.rows[0] ?? {}) as Record<string, unknown>;
  return counts.map((_, i) => toNumber(row[`n${i}`]));
}

/** Reads one number in a read-only transaction of its own; a failing user check must not abort the others. */
async function scalar(client: PoolClient, statement: Statement): Promise<number | null> {
  return inReadOnlyTransaction(client, () => number(client, statement));
}

/** Where the custom checks are defined and how they run; the worker passes them from its configuration. */
export type RunChecksDeps = ActivityDeps & { checks?: Partial<CustomCheckSettings> };

/**
 * Data-quality checks after the loads. Each check's outcome is returned, passed or not; the workflow
 * decides what a failure means. Only an unreachable warehouse fails the activity itself, and a selection
 * the worker cannot honour (a check that is not defined, SQL in the input) fails it without a retry.
 */
export function makeRunChecks(deps: RunChecksDeps) {
  const settings: CustomCheckSettings = {
    dir: deps.checks?.dir ?? path.resolve('checks'),
    statementTimeoutMs: deps.checks?.statementTimeoutMs ?? 60_000,
    dialect: dialectOf(deps),
    ...(deps.checks?.role ? { role: deps.checks.role } : {}),
  };
  const sql = settings.dialect;
  return async function runChecks(input: ChecksInput): Promise<ChecksResult> {
    const t0 = performance.now();
    const definitions = await selectedDefinitions(input.checks, settings.dir);
    const interval = toMs(input.interval);
    const stg = runStagingTable(stagingKeyOf(input));
    try {
      const results = await withClient(deps.pool, (client) =>
        whileHeartbeating({ checks: input.checks.length }, async () => {
          const results: CheckResult[] = [];
          // The built-in counts in one statement: one round trip where there were a dozen.
          if (input.builtin) {
            const perTable = TABLES.flatMap((table) => [
              sql.countNullKeys(table),
              sql.countDuplicateKeys(table, interval),
            ]);
            const counts = await numbers(client, sql, [
              sql.countSongplaysInInterval(interval.startMs, interval.endMs),
              sql.countNextSongStaged(stg),
              ...perTable,
            ]);
            const [played, staged] = counts as [number | null, number | null];
            // A repeated event is loaded once; counted only when the plain counts differ (it costs a sort).
            const distinct = played === staged ? staged : await number(client, sql.countDistinctNextSongStaged(stg));
            const repeats = staged !== null && distinct !== null ? staged - distinct : 0;
            results.push({
              name: 'songplays_match_staged_nextsong',
              passed: played === distinct,
              actual: played,
              expected: String(distinct),
              detail:
                `songplays in interval = ${played}, NextSong events staged = ${staged}` +
                (repeats > 0
                  ? `, of which ${repeats} repeat an earlier event (same user, session, item and ts) and are loaded once`
                  : ''),
            });
            TABLES.forEach((table, i) => {
              const nulls = counts[2 + 2 * i] ?? null;
              results.push({
                name: `${table}_no_null_keys`,
                passed: nulls === 0,
                actual: nulls,
                expected: '0',
                detail: `${nulls} row(s) of ${table} with a NULL key`,
              });
              const dups = counts[3 + 2 * i] ?? null;
              results.push({
                name: `${table}_no_duplicate_keys`,
                passed: dups === 0,
                actual: dups,
                expected: '0',
                detail: `${dups} duplicate key(s) in ${table}${duplicatesCheckedInInterval(table) ? ' within the interval' : ''}`,
              });
            });
          }
          for (const check of input.checks) {
            results.push(await runUserCheck(client, check, definitions, interval, settings));
          }
          return results;
        }),
      );
      return { results, durationMs: elapsed(t0) };
    } catch (err) {
      const recorded = await recordedRunAfter(deps, err);
      if (recorded) return { results: recorded.checks, durationMs: 0 };
      rethrowForActivity(err, 'running data-quality checks');
    }
  };
}

async function runUserCheck(
  client: PoolClient,
  check: CheckSpec,
  definitions: Map<string, CheckDefinition>,
  interval: { startMs: number; endMs: number },
  settings: CustomCheckSettings,
): Promise<CheckResult> {
  if ('table' in check) {
    try {
      const n = await scalar(client, settings.dialect.countRows(check.table));
      return {
        name: check.name,
        passed: n !== null && n >= check.minRows,
        actual: n,
        expected: `>= ${check.minRows}`,
        detail: `${check.table} has ${n} row(s), expected at least ${check.minRows}`,
      };
    } catch (err) {
      if (classify(err) === 'transient') throw err;
      return {
        name: check.name,
        passed: false,
        actual: null,
        expected: `>= ${check.minRows}`,
        detail: couldNotRun(err),
      };
    }
  }
  const definition = definitions.get(check.name)!;
  return runCustomCheck(client, definition, check, interval, settings);
}
