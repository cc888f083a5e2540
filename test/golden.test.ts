/**
 * Golden SQL of both dialects (test/support/golden.ts): every statement each one generates, and every load
 * plan's steps by name, compared with the reviewed files in test/golden/<dialect>/. A change to a statement
 * shows up here as a failing test; `npm run golden:update` rewrites the files, and git shows the difference
 * for review. No file is written otherwise: a missing one fails.
 */
import { postgres, redshift, type Dialect } from '../src/warehouse/dialect';
import { expectGolden, goldenCases, staleGoldenFiles, UPDATE_COMMAND } from './support/golden';

describe.each([postgres, redshift])('golden SQL of the $name dialect', (dialect) => {
  const cases = goldenCases(dialect);

  test.each([...cases.files.keys()])('%s', (file) => {
    expectGolden(dialect, file, cases.files.get(file)!);
  });

  test('every statement of the dialect has a golden case', () => {
    expect(cases.unrendered).toEqual([]);
  });

  test('every bound parameter is typed ($n::type)', () => {
    const untyped = [...cases.files]
      .filter(([file]) => file.endsWith('.sql'))
      .flatMap(([file, sql]) => [...sql.matchAll(/\$\d+(?!\d|::)/g)].map((m) => `${file}: ${m[0]}`));
    // etl_runs' JSON columns take their column's type (varchar on Redshift; jsonb in the tests' PostgreSQL)
    const json = dialect.name === 'redshift' ? ['record-run.sql: $6', 'record-run.sql: $7', 'record-run.sql: $8'] : [];
    expect(untyped).toEqual(json);
  });

  test(`no golden file is left that no case produces (${UPDATE_COMMAND} removes them)`, () => {
    expect(staleGoldenFiles(dialect, cases)).toEqual([]);
  });
});

test('a statement added to a dialect without a golden case is named', () => {
  const grown = { ...postgres, countEverything: () => ({ text: 'SELECT 1' }) } as Dialect;
  expect(goldenCases(grown).unrendered).toEqual(['countEverything']);
});
