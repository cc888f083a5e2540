/**
 * What workflow code may use, checked on its source (the bundler only rejects Node built-ins): it imports
 * values only from the Temporal workflow API and the pure modules listed here, activities only as types,
 * and reads neither the clock nor randomness. test/replay.test.ts checks the other half: that today's code
 * replays the histories of earlier versions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './support/processes';

const WORKFLOWS = path.join(ROOT, 'src/workflows');
/** Modules workflow code may import values from (the last two are pure functions and constants). */
const ALLOWED_VALUES = ['@temporalio/workflow', '@temporalio/common', '../interval', '../types', './sparkify-etl'];

function importsOf(source: string): { from: string; typeOnly: boolean }[] {
  const out: { from: string; typeOnly: boolean }[] = [];
  for (const m of source.matchAll(/^(import|export)\s+(type\s+)?([^;]*?)\s+from\s+'([^']+)'/gms)) {
    const names = m[3] ?? '';
    // `import { type A, type B }` is type-only too
    const inner = /^\{([^}]*)\}$/s.exec(names.trim())?.[1];
    const allTypes = inner !== undefined && inner.split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim()));
    out.push({ from: m[4] as string, typeOnly: Boolean(m[2]) || allTypes });
  }
  return out;
}

/** Wall clock, randomness and timers outside Temporal's API: decisions must come from input and history. */
const FORBIDDEN = [/\bDate\.now\s*\(/, /\bnew Date\s*\(\s*\)/, /\bMath\.random\s*\(/, /\bsetTimeout\s*\(/, /\bsetInterval\s*\(/, /\bprocess\./, /\brequire\s*\(/];

const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith('.ts'));
const pureModules = ['src/interval.ts', 'src/types.ts'];

test.each(files)('src/workflows/%s imports values only from the workflow API and pure modules', (file) => {
  const source = readFileSync(path.join(WORKFLOWS, file), 'utf8');
  const imports = importsOf(source);
  expect(imports.length).toBeGreaterThan(0);
  const offending = imports.filter((i) => !i.typeOnly && !ALLOWED_VALUES.includes(i.from)).map((i) => i.from);
  expect(offending).toEqual([]);
  // activities only as types: their implementations do I/O
  expect(imports.filter((i) => i.from.includes('activities') && !i.typeOnly)).toEqual([]);
});

test.each([...files.map((f) => `src/workflows/${f}`), ...pureModules])('%s reads no clock, randomness or environment', (file) => {
  const source = readFileSync(path.join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  expect(FORBIDDEN.filter((re) => re.test(source)).map(String)).toEqual([]);
});

test.each(pureModules)('%s imports nothing but types', (file) => {
  const imports = importsOf(readFileSync(path.join(ROOT, file), 'utf8'));
  expect(imports.filter((i) => !i.typeOnly)).toEqual([]);
});

test('the check sees what it should: a value import of activities and Date.now() are caught', () => {
  const bad = `import { createActivities } from '../activities';\nimport type { X } from '../activities';\nconst t = Date.now();`;
  expect(importsOf(bad)).toEqual([
    { from: '../activities', typeOnly: false },
    { from: '../activities', typeOnly: true },
  ]);
  expect(FORBIDDEN.some((re) => re.test(bad))).toBe(true);
});
