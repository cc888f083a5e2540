/**
 * Running the operator's custom checks (check-files.ts) so that a check can neither write nor leak:
 * - exactly one statement, sent through the extended protocol, which refuses a second statement (the simple
 *   protocol would run `COMMIT; DELETE …` as three);
 * - in a READ ONLY transaction that is always rolled back, with its own statement timeout, optionally as a
 *   read-only role (CHECKS_ROLE);
 * - only a number or a boolean is accepted as the result, judged by the column's type so that any other value
 *   is never read, and a server error is shown without its text when that text may quote data.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient, QueryArrayConfig } from 'pg';
import { checkSelectionProblems } from '../check-selection';
import type { CheckResult, CheckSpec, CompareOp } from '../types';
import type { Dialect } from '../warehouse/dialect';
import { BAD_CONFIG, classify } from '../warehouse/errors';
import { loadCheckFiles, type CheckDefinition } from './check-files';
import { inReadOnlyTransaction } from '../warehouse/pool';

export interface CustomCheckSettings {
  /** Folder of the check files (CHECKS_DIR, default checks/). */
  dir: string;
  /** Role the checks run as (CHECKS_ROLE); the worker's own user when unset. */
  role?: string;
  statementTimeoutMs: number;
  dialect: Dialect;
}

export const BAD_INPUT = 'BadInput';

export const COMPARE: Record<CompareOp, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
};

/** Types whose values are numbers (PostgreSQL's OIDs, which Redshift shares): int2/4/8, float4/8, numeric. */
const NUMERIC_TYPES = new Set([20, 21, 23, 700, 701, 1700]);
const BOOLEAN_TYPE = 16;

/** SQLSTATE classes whose messages name objects of the check's own SQL, never values read from tables. */
const MESSAGE_SHOWN = /^(42|25|0A|3D|3F)/;

/**
 * The definitions of the named checks a run selects, after validating the selection. Non-retryable
 * failures: a selection that is not valid or names an unknown check (BadInput), a folder of check files
 * with a broken file (BadConfig, naming every problem).
 */
export async function selectedDefinitions(checks: unknown, dir: string): Promise<Map<string, CheckDefinition>> {
  const problems = checkSelectionProblems(checks);
  if (problems.length) throw ApplicationFailure.nonRetryable(`invalid checks: ${problems.join('; ')}`, BAD_INPUT);
  const named = (checks as CheckSpec[] | undefined)?.filter((c) => !('table' in c)) ?? [];
  if (named.length === 0) return new Map();
  const { checks: definitions, problems: fileProblems } = await loadCheckFiles(dir);
  if (fileProblems.length) {
    throw ApplicationFailure.nonRetryable(
      `the check files in CHECKS_DIR=${dir} have problems: ${fileProblems.join('; ')}`,
      BAD_CONFIG,
    );
  }
  const unknown = named.filter((c) => !definitions.has(c.name)).map((c) => c.name);
  if (unknown.length) {
    const known = [...definitions.keys()];
    throw ApplicationFailure.nonRetryable(
      `unknown check(s) ${unknown.map((n) => `"${n}"`).join(', ')}: the checks defined in ${dir} are ` +
        (known.length ? known.join(', ') : 'none (no .sql files)'),
      BAD_INPUT,
    );
  }
  return definitions;
}

/** What a failed check shows of a server error: the message only where it cannot quote data. */
export function couldNotRun(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code && MESSAGE_SHOWN.test(code) && typeof e.message === 'string') {
    // What the server quotes may come from data (a value cast to regclass names a "relation" that does not
    // exist): every quoted part is left out, the rest says what kind of mistake it is.
    const unquoted = e.message.replace(/"(?:[^"]|"")*"/g, '"…"').replace(/'(?:[^']|'')*'/g, "'…'");
    return `could not run: ${unquoted} [${code}]`;
  }
  if (code) return `could not run: SQLSTATE ${code} (the server's message is not shown: it may quote data)`;
  return `could not run: ${typeof e?.name === 'string' ? e.name : 'error'}`;
}

/** UTC timestamp text ('2018-11-15 13:00:00.000'); PostgreSQL infers the parameter's type from the SQL. */
const timestampText = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);

/**
 * One custom check. A transient error (connection lost, server shutting down) is thrown so that the activity
 * is retried; anything else is a failed check that says why without quoting data.
 */
export async function runCustomCheck(
  client: PoolClient,
  definition: CheckDefinition,
  selection: { expected?: number; op?: CompareOp },
  interval: { startMs: number; endMs: number },
  settings: CustomCheckSettings,
): Promise<CheckResult> {
  const op = selection.op ?? definition.op;
  const expected = selection.expected ?? definition.expected;
  const base = { name: definition.name, expected: `${op} ${expected}` };
  let value: number | null | 'not a number';
  try {
    value = await readOnly(client, settings, async () => {
      const res = await client.query(extended(definition, interval));
      const field = res.fields[0];
      const first = res.rows[0]?.[0];
      if (first === null || first === undefined) return null;
      if (field?.dataTypeID === BOOLEAN_TYPE && typeof first === 'boolean') return first ? 1 : 0;
      if (!field || !NUMERIC_TYPES.has(field.dataTypeID)) return 'not a number';
      const n = Number(first);
      return Number.isFinite(n) ? n : 'not a number';
    });
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    if (e?.code === '57014' && /statement timeout/i.test(String(e.message))) {
      // Not retried: the next attempt would run into the same limit.
      return {
        ...base,
        passed: false,
        actual: null,
        detail: `did not finish within ${settings.statementTimeoutMs} ms (CHECKS_STATEMENT_TIMEOUT_MS)`,
      };
    }
    if (classify(err) === 'transient') throw err;
    return { ...base, passed: false, actual: null, detail: couldNotRun(err) };
  }
  if (value === 'not a number') return { ...base, passed: false, actual: null, detail: 'returned a non-numeric value' };
  if (value === null)
    return { ...base, passed: false, actual: null, detail: `returned NULL, expected ${op} ${expected}` };
  return {
    ...base,
    passed: COMPARE[op](value, expected),
    actual: value,
    detail: `returned ${value}, expected ${op} ${expected}`,
  };
}

/**
 * The check's statement for the extended protocol. node-postgres only uses it when a statement has values,
 * so `queryMode: 'extended'` forces it for a check without parameters too (@types/pg does not declare it).
 */
function extended(definition: CheckDefinition, interval: { startMs: number; endMs: number }): QueryArrayConfig {
  const values = [interval.startMs, interval.endMs].slice(0, definition.params).map(timestampText);
  return { text: definition.sql, values, rowMode: 'array', queryMode: 'extended' } as QueryArrayConfig;
}

/** Runs `fn` in a READ ONLY transaction with the checks' timeout and role, and always rolls it back. */
async function readOnly<T>(client: PoolClient, settings: CustomCheckSettings, fn: () => Promise<T>): Promise<T> {
  return inReadOnlyTransaction(client, async () => {
    await client.query(settings.dialect.setLocalStatementTimeout(settings.statementTimeoutMs));
    if (settings.role) await client.query(settings.dialect.runAsRole(settings.role));
    return fn();
  });
}
