/**
 * What workflow code may use is enforced by ESLint (workflowRules in eslint.config.mjs; the bundler only
 * rejects Node built-ins): values only from the Temporal workflow API and pure modules, activities only as
 * types, and no clock, randomness, timers or environment. These tests run those rules: today's workflow code
 * passes them, and code that breaks each one is caught. test/replay.test.ts checks the other half: that
 * today's code replays the histories of earlier versions.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './support/processes';

interface LintResult {
  filePath: string;
  messages: { ruleId: string | null; message: string; line: number }[];
}

/** Workflow code and the pure modules it imports values from. */
const SANDBOXED = ['src/workflows', 'src/interval.ts', 'src/types.ts', 'src/check-selection.ts'];

const BROKEN = `
import { readFileSync } from 'node:fs';
import { Pool } from 'pg';
import { createActivities } from '../activities';
import type { SparkifyActivities } from '../activities';
import { loadConfig } from '../config';
export async function Broken(): Promise<SparkifyActivities | number> {
  readFileSync('x');
  void Pool;
  void createActivities;
  void loadConfig;
  setTimeout(() => undefined, 10);
  const seed = Math.random() + Date.now() + new Date().getTime();
  return seed + Number(process.env.X);
}
`;

/** Files BROKEN is linted as: its text stands in for theirs, under their rules. */
const AS = [
  'src/workflows/sparkify-etl.ts',
  'src/interval.ts',
  'src/check-selection.ts',
  'src/activities/load.ts',
  'src/cli/etl.ts',
];

/** A statement imported instead of reached through the Dialect; the type import is allowed. */
const SQL_IMPORT = `
import { recordRun } from '../warehouse/sql/postgres';
import type { Statement } from '../warehouse/sql/base';
export const x: Statement[] = [recordRun({} as never)];
`;
const SQL_IMPORT_AS = ['src/activities/alert.ts', 'src/cli/status.ts'];

/**
 * One ESLint process, as `npm run lint` runs it (ESLint's API cannot import the ESM config inside jest
 * without its experimental VM modules): it lints SANDBOXED as they are, and BROKEN in place of each file of
 * AS (the type-aware rules only know files that exist).
 */
function runEslint(): { files: LintResult[]; broken: LintResult[]; sql: LintResult[] } {
  const script = `
    import { ESLint } from 'eslint';
    const { files, text, as, sqlText, sqlAs } = JSON.parse(process.argv[1]);
    const eslint = new ESLint();
    const out = { files: await eslint.lintFiles(files), broken: [], sql: [] };
    for (const filePath of as) out.broken.push(...(await eslint.lintText(text, { filePath })));
    for (const filePath of sqlAs) out.sql.push(...(await eslint.lintText(sqlText, { filePath })));
    process.stdout.write(JSON.stringify(out));`;
  const input = { files: SANDBOXED, text: BROKEN, as: AS, sqlText: SQL_IMPORT, sqlAs: SQL_IMPORT_AS };
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(input)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`eslint failed (exit ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as { files: LintResult[]; broken: LintResult[]; sql: LintResult[] };
}

let lint: ReturnType<typeof runEslint>;
beforeAll(() => {
  lint = runEslint();
});

/** What the sandbox rules said of BROKEN linted as `file`. */
function workflowRuleHits(file: string): string[] {
  const result = lint.broken.find((r) => r.filePath === path.join(ROOT, file))!;
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`).filter((m) => /restricted/.test(m));
}

test('workflow code and the modules it imports pass the sandbox rules', () => {
  const results = lint.files;
  expect(results.map((r) => path.relative(ROOT, r.filePath))).toEqual(
    expect.arrayContaining([
      'src/workflows/sparkify-etl.ts',
      'src/interval.ts',
      'src/types.ts',
      'src/check-selection.ts',
    ]),
  );
  const problems = results.flatMap((r) =>
    r.messages.map((m) => `${path.relative(ROOT, r.filePath)}:${m.line} ${m.ruleId} ${m.message}`),
  );
  expect(problems).toEqual([]);
});

test('the sandbox rules catch I/O, activity implementations, clock, randomness, timers and environment', () => {
  const hits = workflowRuleHits('src/workflows/sparkify-etl.ts');
  const caught = (pattern: RegExp) => hits.filter((h) => pattern.test(h));
  expect(caught(/'node:fs' import is restricted/)).toHaveLength(1);
  expect(caught(/'pg' import is restricted/)).toHaveLength(1);
  // the value import of activities is caught, the type import is allowed
  expect(caught(/'\.\.\/activities' import is restricted/)).toHaveLength(1);
  expect(caught(/'\.\.\/config' import is restricted/)).toHaveLength(1);
  expect(caught(/setTimeout/)).toHaveLength(1);
  expect(caught(/Math\.random/)).toHaveLength(1);
  expect(caught(/Date\.now/)).toHaveLength(1);
  expect(caught(/no-restricted-syntax: No decisions from the clock/)).toHaveLength(1);
  expect(caught(/'process'/)).toHaveLength(1);
  expect(hits).toHaveLength(9);
});

test('the pure modules are held to the same rules', () => {
  expect(workflowRuleHits('src/interval.ts')).toHaveLength(9);
  expect(workflowRuleHits('src/check-selection.ts')).toHaveLength(9);
});

test('the sandbox rules apply to workflow code only: activities and commands may do I/O', () => {
  expect(workflowRuleHits('src/activities/load.ts')).toEqual([]);
  expect(workflowRuleHits('src/cli/etl.ts')).toEqual([]);
});

test('statements are reached through the Dialect: importing one from src/warehouse/sql is caught, a type is not', () => {
  for (const file of SQL_IMPORT_AS) {
    const result = lint.sql.find((r) => r.filePath === path.join(ROOT, file))!;
    const restricted = result.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports');
    expect(restricted.map((m) => `${m.line}: ${m.message}`)).toEqual([
      expect.stringMatching(
        /^2: '\.\.\/warehouse\/sql\/postgres' import is restricted.*Reach statements through the Dialect/,
      ),
    ]);
  }
});
