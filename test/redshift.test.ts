/**
 * The Redshift dialect. No Redshift cluster is reachable here, so:
 * - every statement it generates is compared with a reviewed golden file (test/golden/redshift/*.sql, by
 *   test/golden.test.ts), and every golden file and Redshift migration is checked here for syntax that only
 *   PostgreSQL has;
 * - its loads (DELETE + INSERT with ROW_NUMBER() batches, no ON CONFLICT) are plain SQL that PostgreSQL also
 *   runs, so they are executed on PostgreSQL and must give exactly the tables the PostgreSQL dialect gives.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { codeOf } from '../src/activities/check-files';
import { TABLES, type LoadMode } from '../src/types';
import { postgres, redshift, type CopyFromS3, type Dialect } from '../src/warehouse/dialect';
import { tableChecksums } from './support/checksum';
import { goldenDir } from './support/golden';
import {
  useTemporalEnv,
  createTestDatabase,
  redshiftLoadsOnPostgres,
  uniqueQueue,
  type TestDatabase,
  withWorker,
} from './support/helpers';

const GOLDEN = goldenDir(redshift);
const auth = { iamRole: 'arn:aws:iam::123456789012:role/sparkify-copy', region: 'us-west-2' };
const copy = redshift.staging as CopyFromS3;

describe('Redshift SQL', () => {
  test('DDL', () => {
    for (const f of ['001_schema.sql', '002_run_staging.sql']) {
      const ddl = readFileSync(path.join(redshift.migrationsDir, f), 'utf8');
      expect(ddl).not.toMatch(/ON CONFLICT|UNLOGGED|jsonb|bigserial/i);
    }
    // songplays is redistributed by start_time (song_id is mostly NULL: every NULL on one slice)
    const redistributed = readFileSync(path.join(redshift.migrationsDir, '005_songplays_distribution.sql'), 'utf8');
    expect(redistributed).toMatch(/start_time\s+timestamp NOT NULL SORTKEY DISTKEY,/);
    expect(redistributed).not.toMatch(/song_id\s+varchar\(32\)\s+DISTKEY/);
    expect(redistributed).toContain('ALTER TABLE songplays_by_start_time RENAME TO songplays;');
  });

  test('COPY refuses what it cannot quote safely', () => {
    expect(copy.kind).toBe('copy-from-s3');
    expect(() => copy.copyEventsFromS3("s3://bucket/x' IAM_ROLE 'evil", 's3://b/p.json', auth, 0)).toThrow(
      'is not an S3 URL',
    );
    expect(() =>
      copy.copyEventsFromS3('s3://bucket/x.json', 's3://b/p.json', { ...auth, iamRole: 'admin' }, 0),
    ).toThrow('is not an IAM role ARN');
    expect(() =>
      copy.copyEventsFromS3('s3://bucket/x.json', 's3://b/p.json', { ...auth, region: "us'; drop" }, 0),
    ).toThrow('is not an AWS region');
    expect(() => copy.copyErrorsPage(-1)).toThrow('offset must be a whole number');
  });
});

/**
 * Syntax PostgreSQL accepts and Redshift does not (or runs differently), checked in every statement the Redshift
 * path runs: the golden files (every generated statement, see above) and the Redshift migrations. Comments and
 * the contents of string literals are not code and are not checked.
 */
const POSTGRES_ONLY: [RegExp, string][] = [
  [/\bON\s+CONFLICT\b/i, 'ON CONFLICT (Redshift: DELETE + INSERT, or MERGE)'],
  [/\bRETURNING\b/i, 'RETURNING'],
  [/\bUNLOGGED\b/i, 'UNLOGGED tables'],
  [/\bFREEZE\b/i, 'COPY FREEZE'],
  [/\bFROM\s+STDIN\b/i, 'COPY FROM STDIN (Redshift COPYs from S3)'],
  [/\bpg_advisory\w*/i, 'advisory locks'],
  [/\bpg_\w+/i, 'pg_* catalogs and functions (Redshift has its own system tables)'],
  [/::\s*regclass\b/i, '::regclass'],
  [/\bDISTINCT\s+ON\b/i, 'DISTINCT ON'],
  [/\bunnest\s*\(/i, 'unnest()'],
  [/\bgenerate_series\s*\(/i, 'generate_series() (leader node only)'],
  [/\bstring_agg\s*\(/i, 'string_agg() (Redshift: listagg)'],
  [/\bjsonb\b|::\s*json\b/i, 'json/jsonb types'],
  [/\b(big)?serial\b/i, 'serial types (Redshift: IDENTITY)'],
  [/\[\s*\]/, 'array types'],
  [/=\s*ANY\s*\(/i, '= ANY(array)'],
  [/\bLATERAL\b/i, 'LATERAL'],
  [/\bFILTER\s*\(\s*WHERE\b/i, 'aggregate FILTER'],
  [/\bWITH\s+ORDINALITY\b/i, 'WITH ORDINALITY'],
  [/\bCREATE\s+(UNIQUE\s+)?INDEX\b/i, 'indexes'],
  [/\bCONCURRENTLY\b/i, 'CONCURRENTLY'],
  [/\bFOR\s+(UPDATE|SHARE|NO\s+KEY\s+UPDATE)\b|\bSKIP\s+LOCKED\b/i, 'row locks'],
  [/\bON\s+COMMIT\s+DROP\b/i, 'ON COMMIT DROP temp tables'],
  [
    /\bINCLUDING\s+(ALL|INDEXES|CONSTRAINTS|STORAGE|COMMENTS|GENERATED|IDENTITY|STATISTICS)\b/i,
    'LIKE … INCLUDING (only DEFAULTS)',
  ],
  [/\bGENERATED\s+ALWAYS\b/i, 'GENERATED ALWAYS'],
  [/\bSET\s+(LOCAL\s+|SESSION\s+)?ROLE\b/i, 'SET ROLE (Redshift: SET SESSION AUTHORIZATION)'],
  [/\bTRUNCATE\b/i, 'TRUNCATE (Redshift commits it at once, ending the transaction)'],
  [/\bnow\s*\(\s*\)/i, 'now() (Redshift: getdate())'],
];

/** Matches that are Redshift's own, each with the reason it is right there. */
const REDSHIFT_ALSO: { file: RegExp; match: RegExp; why: string }[] = [
  {
    file: /^stl-load-errors\.sql$/,
    match: /^pg_last_copy_id$/i,
    why: "pg_last_copy_id() is Redshift's: the query id of the session's last COPY, the key of stl_load_errors",
  },
];

function redshiftSqlFiles(): [string, string][] {
  const golden = readdirSync(GOLDEN)
    .filter((f) => f.endsWith('.sql'))
    .map((f): [string, string] => [f, path.join(GOLDEN, f)]);
  const migrations = readdirSync(redshift.migrationsDir)
    .filter((f) => f.endsWith('.sql'))
    .map((f): [string, string] => [`sql/redshift/${f}`, path.join(redshift.migrationsDir, f)]);
  return [...golden, ...migrations];
}

describe('no PostgreSQL-only syntax in any statement Redshift runs', () => {
  test('the lint catches each kind of PostgreSQL-only syntax it lists', () => {
    const samples = [
      'INSERT INTO t VALUES (1) ON CONFLICT (k) DO NOTHING RETURNING k',
      'CREATE UNLOGGED TABLE t (id bigserial)',
      'COPY t FROM STDIN WITH (FREEZE)',
      "SELECT pg_advisory_xact_lock(1), 't'::regclass, x = ANY($1::text[])",
      'SELECT DISTINCT ON (a) a FROM t, LATERAL unnest(b) WITH ORDINALITY',
      'CREATE TEMP TABLE b (LIKE t INCLUDING ALL) ON COMMIT DROP',
      'SET LOCAL ROLE r; TRUNCATE t',
    ];
    const caught = new Set(
      samples.flatMap((sql) => POSTGRES_ONLY.filter(([re]) => re.test(codeOf(sql).code)).map(([, what]) => what)),
    );
    for (const what of [
      'ON CONFLICT (Redshift: DELETE + INSERT, or MERGE)',
      'RETURNING',
      'UNLOGGED tables',
      'COPY FREEZE',
      'advisory locks',
      '::regclass',
      'DISTINCT ON',
      'unnest()',
      'ON COMMIT DROP temp tables',
      'SET ROLE (Redshift: SET SESSION AUTHORIZATION)',
      'TRUNCATE (Redshift commits it at once, ending the transaction)',
    ]) {
      expect(caught).toContain(what);
    }
    // literals and comments are not code
    expect(POSTGRES_ONLY.some(([re]) => re.test(codeOf("SELECT 'ON CONFLICT' -- RETURNING\n").code))).toBe(false);
  });

  test.each(redshiftSqlFiles())('%s', (name, file) => {
    const { code, problem } = codeOf(readFileSync(file, 'utf8'));
    expect(problem).toBeUndefined();
    const found: string[] = [];
    for (const [re, what] of POSTGRES_ONLY) {
      for (const m of code.matchAll(new RegExp(re.source, `${re.flags}g`))) {
        const excused = REDSHIFT_ALSO.some((e) => e.file.test(name) && e.match.test(m[0]));
        if (!excused) found.push(`${what}: "${m[0]}"`);
      }
    }
    expect(found).toEqual([]);
  });
});

describe('Redshift loads, run on PostgreSQL (no Redshift cluster here)', () => {
  const env = useTemporalEnv();

  async function backfill(db: TestDatabase, dialect: Dialect, modes: Record<string, LoadMode>) {
    const taskQueue = uniqueQueue(`rs-${dialect.name}`);
    await withWorker(env, { taskQueue, pool: db.pool, dialect }, async () => {
      // hours out of order, one twice: upserts and replaces must still converge
      for (const h of ['2018-11-02T10', '2018-11-01T22', '2018-11-02T03', '2018-11-02T10', '2018-11-01T05']) {
        const start = `${h}:00:00.000Z`;
        const end = new Date(Date.parse(start) + 3_600_000).toISOString();
        await env.client.workflow.execute('SparkifyEtl', {
          taskQueue,
          workflowId: `${taskQueue}-${h}-${Math.random()}`,
          args: [{ start, end, loadModes: modes }],
        });
      }
    });
    return tableChecksums(db.pool);
  }

  test.each([
    ['replace / upsert', {}],
    ['append', Object.fromEntries(TABLES.map((t) => [t, 'append']))],
    ['truncate-insert', Object.fromEntries(TABLES.map((t) => [t, 'truncate-insert']))],
  ])('%s: the same tables as the PostgreSQL dialect', async (_label, modes) => {
    const [a, b] = [await createTestDatabase(), await createTestDatabase()];
    try {
      const viaPostgres = await backfill(a, postgres, modes as Record<string, LoadMode>);
      const viaRedshift = await backfill(b, redshiftLoadsOnPostgres, modes as Record<string, LoadMode>);
      expect(viaRedshift).toEqual(viaPostgres);
      expect(viaPostgres.songplays!.rows).toBeGreaterThan(0);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });
});
