/**
 * Which checks a run may ask for, and how: the validation of the workflow input's `checks` field.
 *
 * Whoever can start a workflow is not trusted to run SQL, so the input only selects checks by name and
 * adjusts their comparison; the SQL is in files the worker's operator reviews (checks/*.sql or CHECKS_DIR,
 * see src/activities/check-files.ts). Pure (no I/O): the workflow validates its input with it, and
 * runChecks validates again, for histories and callers that skipped the workflow's validation.
 */
import { TABLES, type CheckSpec, type CompareOp } from './types';

/** The type of SparkifyEtlInput's `checks` field. */
export type CheckSelection = CheckSpec[];

export const COMPARE_OPS: readonly CompareOp[] = ['=', '!=', '>', '>=', '<', '<='];

/** Tables a row-count check may name: the star schema and the pipeline's own tables, never a catalog. */
export const COUNTABLE_TABLES: readonly string[] = [
  ...TABLES,
  'staging_events',
  'staging_songs',
  'staged_song_files',
  'load_errors',
];

/** A check's name: also a file header's `name`, so the same rule is used when the files are loaded. */
export const CHECK_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

export const MAX_CHECKS = 100;

const NAMED_KEYS = ['name', 'expected', 'op'];
const ROW_COUNT_KEYS = ['name', 'table', 'minRows'];

/** A short rendering of a value the caller sent, for a message; long text is cut, never echoed whole. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * One human-readable problem per bad field, e.g. `checks[1].op: "toString" is not one of =, !=, >, >=, <, <=`;
 * empty when the selection is fine. `undefined` (no extra checks) is fine.
 */
export function checkSelectionProblems(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [`checks: expected a list of checks, got ${shown(value)}`];
  if (value.length > MAX_CHECKS) return [`checks: at most ${MAX_CHECKS} checks a run, got ${value.length}`];
  const problems: string[] = [];
  const seen = new Set<string>();
  value.forEach((check: unknown, i) => {
    const at = `checks[${i}]`;
    if (typeof check !== 'object' || check === null || Array.isArray(check)) {
      problems.push(`${at}: expected an object such as { "name": "songplays_have_known_users" }, got ${shown(check)}`);
      return;
    }
    const c = check as Record<string, unknown>;
    const keys = Object.keys(c);
    if (keys.includes('sql')) {
      problems.push(
        `${at}.sql: a workflow input carries no SQL; checks are SQL files the worker's operator reviews ` +
          '(checks/*.sql or CHECKS_DIR): select one by its name',
      );
    }
    const rowCount = keys.includes('table') || keys.includes('minRows');
    const allowed = rowCount ? ROW_COUNT_KEYS : NAMED_KEYS;
    for (const key of keys) {
      if (key !== 'sql' && !allowed.includes(key)) {
        problems.push(
          `${at}.${key.length > 40 ? `${key.slice(0, 40)}…` : key}: unknown field (use ${allowed.join(', ')})`,
        );
      }
    }
    if (typeof c.name !== 'string' || !CHECK_NAME.test(c.name)) {
      problems.push(`${at}.name: ${shown(c.name)} is not a check name (a letter, then letters, digits, _ . -)`);
    } else if (seen.has(c.name)) {
      problems.push(`${at}.name: "${c.name}" is selected twice`);
    } else {
      seen.add(c.name);
    }
    if (rowCount) {
      if (typeof c.table !== 'string' || !COUNTABLE_TABLES.includes(c.table)) {
        problems.push(`${at}.table: ${shown(c.table)} is not one of ${COUNTABLE_TABLES.join(', ')}`);
      }
      if (typeof c.minRows !== 'number' || !Number.isSafeInteger(c.minRows) || c.minRows < 0) {
        problems.push(`${at}.minRows: ${shown(c.minRows)} is not a whole number >= 0`);
      }
      return;
    }
    if (c.expected !== undefined && (typeof c.expected !== 'number' || !Number.isFinite(c.expected))) {
      problems.push(`${at}.expected: ${shown(c.expected)} is not a finite number`);
    }
    if (c.op !== undefined && !COMPARE_OPS.includes(c.op as CompareOp)) {
      problems.push(`${at}.op: ${shown(c.op)} is not one of ${COMPARE_OPS.join(', ')}`);
    }
  });
  return problems;
}
