import type { PoolClient } from 'pg';
import { toMs } from '../interval';
import {
  TABLES,
  type CheckResult,
  type CheckSpec,
  type ChecksInput,
  type ChecksResult,
  type CompareOp,
} from '../types';
import { withClient } from '../warehouse/pool';
import { rethrowForActivity } from '../warehouse/errors';
import {
  countDistinctNextSongStaged,
  countDuplicateKeys,
  countNextSongStaged,
  countNullKeys,
  countRows,
  countSongplaysInInterval,
  duplicatesCheckedInInterval,
  quoteTableName,
  runStagingTable,
  type Statement,
} from '../warehouse/statements';
import { elapsed, whileHeartbeating, type ActivityDeps } from './context';

const COMPARE: Record<CompareOp, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
};

/** Reads one number in a read-only transaction; a failing user check must not abort the others. */
async function scalar(client: PoolClient, statement: Statement): Promise<number | null> {
  await client.query('BEGIN READ ONLY');
  try {
    const res = await client.query(statement);
    const first = res.rows[0] as Record<string, unknown> | undefined;
    const value = first ? Object.values(first)[0] : null;
    if (value === null || value === undefined) return null;
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`returned ${JSON.stringify(value)}, which is not a number`);
    return n;
  } finally {
    await client.query('ROLLBACK');
  }
}

/**
 * Data-quality checks after the loads. Each check's outcome is returned, passed or not; the workflow
 * decides what a failure means. Only an unreachable warehouse fails the activity itself.
 */
export function makeRunChecks(deps: ActivityDeps) {
  return async function runChecks(input: ChecksInput): Promise<ChecksResult> {
    const t0 = performance.now();
    const interval = toMs(input.interval);
    const stg = runStagingTable(input.runKey);
    try {
      const results = await withClient(deps.pool, (client) =>
        whileHeartbeating({ checks: input.checks.length }, async () => {
          const results: CheckResult[] = [];
          if (input.builtin) {
            const played = await scalar(client, countSongplaysInInterval(interval.startMs, interval.endMs));
            const staged = await scalar(client, countNextSongStaged(stg));
            // A repeated event is loaded once; counted only when the plain counts differ (it costs a sort).
            const distinct = played === staged ? staged : await scalar(client, countDistinctNextSongStaged(stg));
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
            for (const table of TABLES) {
              const nulls = await scalar(client, countNullKeys(table));
              results.push({
                name: `${table}_no_null_keys`,
                passed: nulls === 0,
                actual: nulls,
                expected: '0',
                detail: `${nulls} row(s) of ${table} with a NULL key`,
              });
              const dups = await scalar(client, countDuplicateKeys(table, interval));
              results.push({
                name: `${table}_no_duplicate_keys`,
                passed: dups === 0,
                actual: dups,
                expected: '0',
                detail: `${dups} duplicate key(s) in ${table}${duplicatesCheckedInInterval(table) ? ' within the interval' : ''}`,
              });
            }
          }
          for (const check of input.checks) results.push(await runUserCheck(client, check, interval));
          return results;
        }),
      );
      return { results, durationMs: elapsed(t0) };
    } catch (err) {
      rethrowForActivity(err, 'running data-quality checks');
    }
  };
}

async function runUserCheck(
  client: PoolClient,
  check: CheckSpec,
  interval: { startMs: number; endMs: number },
): Promise<CheckResult> {
  try {
    if ('table' in check) {
      const n = await scalar(client, countRows(quoteTableName(check.table)));
      return {
        name: check.name,
        passed: n !== null && n >= check.minRows,
        actual: n,
        expected: `>= ${check.minRows}`,
        detail: `${check.table} has ${n} row(s), expected at least ${check.minRows}`,
      };
    }
    const op = check.op ?? '=';
    // $1 and $2, when the SQL uses them, are the interval's start and end.
    const params = Math.max(0, ...[...check.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    // Bound as UTC timestamp text ('2018-11-15 13:00:00.000'); PostgreSQL infers the type from the SQL.
    const bounds = [interval.startMs, interval.endMs].map((ms) =>
      new Date(ms).toISOString().replace('T', ' ').slice(0, 23),
    );
    const n = await scalar(client, { text: check.sql, values: bounds.slice(0, params) });
    const passed = n !== null && COMPARE[op](n, check.expected);
    return {
      name: check.name,
      passed,
      actual: n,
      expected: `${op} ${check.expected}`,
      detail: `returned ${n}, expected ${op} ${check.expected}`,
    };
  } catch (err) {
    const e = err as { message?: string; code?: string };
    // A broken check (bad SQL, unknown table) is a failed check that says why, not a crash.
    if (e?.code && /^(08|57P)/.test(e.code)) throw err;
    return {
      name: check.name,
      passed: false,
      actual: null,
      expected: 'sql' in check ? `${check.op ?? '='} ${check.expected}` : `>= ${check.minRows}`,
      detail: `could not run: ${e?.message ?? String(err)}`,
    };
  }
}
