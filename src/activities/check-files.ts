/**
 * Custom data-quality checks, as the worker's operator defines them: one `.sql` file a check in checks/ (or
 * CHECKS_DIR), reviewed like any other code, the way dbt keeps its tests in the repository. A run selects
 * them by name (check-selection.ts); the SQL never comes from the workflow input.
 *
 * A file is a header of `-- key: value` lines, then exactly one SELECT (or WITH … SELECT):
 *
 *   -- name: songplays_have_known_users
 *   -- expected: 0
 *   -- op: =
 *   -- description: songplays of the interval whose user is not in users
 *   SELECT count(*) FROM songplays p WHERE p.start_time >= $1 AND p.start_time < $2 AND ...
 *
 * `$1` and `$2`, when used, are bound to the interval's start and end (UTC timestamps). `op` defaults to `=`.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CHECK_NAME, COMPARE_OPS } from '../check-selection';
import type { CompareOp } from '../types';

export interface CheckDefinition {
  name: string;
  /** The file it came from, for messages. */
  file: string;
  description: string;
  expected: number;
  op: CompareOp;
  /** The statement, sent as the file holds it (comments included). */
  sql: string;
  /** How many of the interval bounds ($1, $2) the statement uses. */
  params: 0 | 1 | 2;
}

/** The header's keys; any other comment before the statement is just a comment. */
const HEADER_KEYS = ['name', 'expected', 'op', 'description'];

/**
 * The statement's code with comments and the contents of literals and quoted identifiers blanked out, so that
 * what is left can be searched for `;`, `$n` and the first keyword without being fooled by `';'` or `/* ; *\/`.
 */
export function codeOf(sql: string): { code: string; problem?: string } {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end;
      out += ' ';
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else {
          i++;
        }
      }
      if (depth > 0) return { code: out, problem: 'a /* comment is not closed' };
      out += ' ';
    } else if (c === "'" || c === '"') {
      // E'…' strings take backslash escapes; elsewhere a doubled quote is the only escape.
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      i++;
      let closed = false;
      while (i < n) {
        if (sql[i] === '\\' && c === "'" && !escapes) {
          // Whether a backslash escapes the quote after it depends on the server (standard_conforming_strings),
          // so where this string ends, and how many statements the file holds, would too.
          return {
            code: out,
            problem: "a string holds a backslash: write it as E'…' so that every server reads it alike",
          };
        }
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) {
          closed = true;
          i++;
          break;
        } else i++;
      }
      if (!closed) return { code: out, problem: `a ${c === "'" ? 'string' : 'quoted name'} is not closed` };
      out += c === "'" ? "''" : '""';
    } else if (c === '$' && /[A-Za-z_$]/.test(next ?? '') && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (!tag) {
        out += c;
        i++;
        continue;
      }
      const end = sql.indexOf(tag[0], i + tag[0].length);
      if (end < 0) return { code: out, problem: `a ${tag[0]} quoted string is not closed` };
      i = end + tag[0].length;
      out += "''";
    } else {
      out += c;
      i++;
    }
  }
  return { code: out };
}

/** The problems of one file's text, or its definition. */
export function parseCheckFile(file: string, text: string): { check?: CheckDefinition; problems: string[] } {
  const problems: string[] = [];
  const header: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*--\s*([A-Za-z]+)\s*:\s*(.*?)\s*$/.exec(line);
    const key = m?.[1]?.toLowerCase() ?? '';
    if (!m || !HEADER_KEYS.includes(key)) {
      // other comments may sit among the header's lines; the first line of code ends the header
      if (/^\s*(--.*)?$/.test(line)) continue;
      break;
    }
    if (key in header) problems.push(`${file}: header "${key}" given twice`);
    else header[key] = m[2]!;
  }
  const name = header.name ?? '';
  if (!CHECK_NAME.test(name))
    problems.push(`${file}: "-- name:" must be a check name (a letter, then letters, digits, _ . -)`);
  const expected = header.expected === undefined || header.expected === '' ? NaN : Number(header.expected);
  if (!Number.isFinite(expected)) problems.push(`${file}: "-- expected:" must be a number`);
  const op = (header.op || '=') as CompareOp;
  if (!COMPARE_OPS.includes(op)) problems.push(`${file}: "-- op:" must be one of ${COMPARE_OPS.join(', ')}`);

  const { code, problem } = codeOf(text);
  if (problem) problems.push(`${file}: ${problem}`);
  const statements = code
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  if (statements.length === 0) problems.push(`${file}: holds no statement`);
  else if (statements.length > 1) {
    problems.push(`${file}: holds ${statements.length} statements; a check is exactly one SELECT`);
  } else if (!/^(select|with)\b/i.test(statements[0]!)) {
    problems.push(`${file}: a check is one SELECT (or WITH … SELECT)`);
  }
  const used = new Set([...code.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  const beyond = [...used].filter((p) => p < 1 || p > 2);
  if (beyond.length) {
    problems.push(`${file}: uses $${beyond[0]}; only $1 (interval start) and $2 (interval end) are bound`);
  } else if (used.has(2) && !used.has(1)) {
    problems.push(`${file}: uses $2 without $1 (bind order is $1 = interval start, $2 = interval end)`);
  }
  if (problems.length) return { problems };
  return {
    problems,
    check: {
      name,
      file,
      description: header.description ?? '',
      expected,
      op,
      sql: text,
      params: used.has(2) ? 2 : used.has(1) ? 1 : 0,
    },
  };
}

/**
 * Every check file of `dir` (*.sql), with every problem found in any of them: a folder with one broken file is
 * reported whole, like the configuration, so the operator fixes it in one go. A missing folder holds no checks.
 */
export async function loadCheckFiles(
  dir: string,
): Promise<{ checks: Map<string, CheckDefinition>; problems: string[] }> {
  const checks = new Map<string, CheckDefinition>();
  const problems: string[] = [];
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return { checks, problems };
    throw err;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    const { check, problems: found } = parseCheckFile(file, await readFile(file, 'utf8'));
    problems.push(...found);
    if (!check) continue;
    const other = checks.get(check.name);
    if (other) problems.push(`${file}: check "${check.name}" is also defined in ${other.file}`);
    else checks.set(check.name, check);
  }
  return { checks, problems };
}
