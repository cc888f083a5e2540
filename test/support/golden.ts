/**
 * Golden SQL: every statement a dialect generates, rendered into test/golden/<dialect>/<case>.sql, and the
 * steps of every load plan by name (load-plans.txt). One helper for both dialects (test/golden.test.ts):
 * a file that is missing or differs fails the test, locally as in CI. Files are written only by
 * `npm run golden:update` (UPDATE_GOLDEN=1), and git shows the difference for review.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TABLES, allowedModes } from '../../src/types';
import type { CopyFromS3, CopyFromStdin, Dialect, LoadPlan, LoadStep, Statement } from '../../src/warehouse/dialect';
import { runStagingTable } from '../../src/warehouse/tables';

export const GOLDEN_ROOT = path.join(__dirname, '..', 'golden');
export const UPDATE_COMMAND = 'npm run golden:update';
export const updating = () => process.env.UPDATE_GOLDEN === '1';

/** One statement as a golden file shows it: its text, then its bound values as a comment. */
function renderOne(s: Statement): string {
  const text = s.text.replace(/[ \t]+\n/g, '\n').trim();
  return s.values?.length ? `${text};\n-- values: ${JSON.stringify(s.values)}` : `${text};`;
}

export function render(statements: Statement | Statement[]): string {
  return ([] as Statement[]).concat(statements).map(renderOne).join('\n\n') + '\n';
}

/** A load plan's statements in order; what runs instead of a step on a unique violation follows that step. */
export function renderPlan(plan: LoadPlan): string {
  const parts = plan.steps.map((step) =>
    step.onUniqueViolation
      ? `${renderOne(step.statement)}\n\n-- if it fails on a unique key (23505), instead:\n` +
        step.onUniqueViolation.map((s) => renderOne(s.statement)).join('\n\n')
      : renderOne(step.statement),
  );
  if (plan.afterReload?.length) {
    parts.push(
      '-- after a re-load (the interval held rows before):\n' +
        plan.afterReload.map((s) => renderOne(s.statement)).join('\n\n'),
    );
  }
  return parts.join('\n\n') + '\n';
}

/** Every load plan of the dialect by its steps' names: what each load mode runs, in words. */
export function describePlans(dialect: Dialect, stg: string, hour: { startMs: number; endMs: number }): string {
  const describeStep = (step: LoadStep, i: number) =>
    `  ${i + 1}. ${step.name}` +
    (step.onUniqueViolation
      ? `\n     if it fails on a unique key: ${step.onUniqueViolation.map((s) => s.name).join(', then ')}`
      : '');
  return (
    TABLES.flatMap((table) =>
      allowedModes(table).map((mode) => {
        const plan = dialect.loadPlan(table, mode, stg, hour);
        const header = `${table} ${mode}${plan.replacesInterval ? ' (replaces the interval)' : ''}:`;
        const detects = plan.steps.findIndex((s) => s.detectsReload) + 1;
        const afterReload = plan.afterReload?.length
          ? [
              `  after a re-load (when step ${detects} deleted rows):`,
              ...plan.afterReload.map((s, i) => describeStep(s, plan.steps.length + i)),
            ]
          : [];
        return [header, ...plan.steps.map(describeStep), ...afterReload].join('\n');
      }),
    ).join('\n\n') + '\n'
  );
}

const RUN_KEY = '20181115T1300_1h';
const stg = runStagingTable(RUN_KEY);
const hour = { startMs: Date.UTC(2018, 10, 15, 13), endMs: Date.UTC(2018, 10, 15, 14) };
const auth = { iamRole: 'arn:aws:iam::123456789012:role/sparkify-copy', region: 'us-west-2' };
const songFiles = [
  ['song_data/A/B/C/TRABC.json', 'song_data/A/B/D/TRABD.json'],
  [120, 130],
  ['"e1"', '"e2"'],
  [1, 1],
] as const;
/** An alert of the outbox as a claim holds it. */
const held = { runId: 'r1', kind: 'failed' as const, claim: 'c1' };

/** Members of a Dialect that are not statements: no golden case needs them. */
const NOT_STATEMENTS = new Set(['name', 'migrationsDir', 'staging', 'kind', 'copyErrorsPageSize', 'songManifest']);

function stagingCases(d: Dialect, copy: CopyFromStdin | CopyFromS3): Record<string, string> {
  const [paths, sizes, versions, songs] = songFiles;
  if (copy.kind === 'copy-from-stdin') {
    return {
      'stage-events': render([
        d.createRunStaging(stg),
        copy.copyEventsIntoRunStaging(stg),
        copy.analyzeRunStaging(stg),
      ]),
      'stage-songs': render([
        d.lockSongStaging,
        copy.createSongStagingBatch,
        copy.copySongsIntoBatch,
        copy.upsertSongBatch,
        d.songStagingChanged,
        ...copy.rematchLateSongs,
        copy.refreshSongMatch,
      ]),
      'record-song-files': render(copy.recordSongFiles([...paths], [...sizes], [...versions], [...songs])),
    };
  }
  return {
    'copy-events': render(
      copy.copyEventsFromS3(
        's3://udacity-dend/log_data/2018/11/2018-11-15-events.json',
        's3://udacity-dend/log_json_path.json',
        auth,
        0,
      ),
    ),
    'copy-songs': render(copy.copySongsFromManifest('s3://udacity-dend/_sparkify/manifests/songs-x.json', auth, 10)),
    'stage-events': render([
      d.createRunStaging(stg),
      copy.createRawEvents,
      copy.filterRawEventsIntoRun(stg, hour.startMs, hour.endMs),
      d.countNextSongStaged(stg),
    ]),
    'stl-load-errors': render([copy.copyErrorsPage(0), copy.copyErrorsPage(copy.copyErrorsPageSize)]),
    'stage-songs': render([
      d.lockSongStaging,
      copy.createSongStagingBatch,
      ...copy.upsertSongBatch,
      d.songStagingChanged,
    ]),
    'record-song-files': render(copy.recordSongFiles([...paths], [...sizes], [...versions], [...songs])),
  };
}

/** The source index's statements, where the dialect keeps one. */
function sourceIndexCases(d: Dialect): Record<string, string> {
  const index = d.sourceIndex;
  if (!index) return {};
  const source = 's3://udacity-dend/';
  const file = 'log_data/2018/11/2018-11-15-events.json';
  return {
    'source-index': render([
      index.tryLock,
      index.indexedFiles(source),
      index.upsertIndexedFile(source, {
        path: file,
        version: '"e15"',
        size: 1234,
        lines: 10,
        minTs: hour.startMs,
        maxTs: hour.endMs - 1,
        unhouredLines: 1,
        unhouredDigest: 'abc',
      }),
      index.deleteFileHours(source, file),
      index.insertFileHours(source, file, [
        { hourStartMs: hour.startMs, lines: 10, digest: 'd13', firstByte: 0, endByte: 4321, firstLine: 1 },
      ]),
      index.deleteIndexedFiles(source, [file]),
      index.feedingRanges(source, hour.startMs, hour.endMs),
    ]),
    'run-reads': render([
      index.recordRunReads({
        runId: 'run',
        workflowId: 'wf',
        source,
        ...hour,
        paths: [file],
        versions: ['"e15"'],
        missing: ['log_data/2018/11/2018-11-16-events.json'],
      }),
      index.recordFailedRunView({ runId: 'run', workflowId: 'wf', source, ...hour }),
      index.staleHours({
        source,
        fromMs: hour.startMs - 30 * 24 * 3_600_000,
        toMs: hour.endMs,
        limit: 100,
        idPrefix: 'sparkify-',
        idPrefixEnd: 'sparkify.',
        holdRemovals: true,
      }),
      index.missingFileHours({
        fromMs: hour.startMs,
        toMs: hour.endMs,
        idPrefix: 'sparkify-',
        idPrefixEnd: 'sparkify.',
      }),
    ]),
  };
}

/** Every golden file of a dialect (`<name>.sql`, or the name with its extension) and what it must hold. */
function casesOf(d: Dialect): Record<string, string> {
  const loads = Object.fromEntries(
    TABLES.flatMap((table) =>
      allowedModes(table).map((mode) => [`load-${table}-${mode}`, renderPlan(d.loadPlan(table, mode, stg, hour))]),
    ),
  );
  return {
    ...stagingCases(d, d.staging),
    ...sourceIndexCases(d),
    'run-staging-registry': render([...d.registerRunStaging(RUN_KEY, 'wf'), d.staleRunStaging(6)]),
    'record-load-errors': render(
      d.recordLoadErrors(RUN_KEY, ['log_data/x.json'], [7], ['Invalid JSON'], ['{"ts":'], ['"e7"']),
    ),
    ...loads,
    'load-plans.txt': describePlans(d, stg, hour),
    checks: render([
      d.countSongplaysInInterval(hour.startMs, hour.endMs),
      d.countNextSongStaged(stg),
      d.countDistinctNextSongStaged(stg),
      ...TABLES.flatMap((t) => [d.countNullKeys(t), d.countDuplicateKeys(t, hour)]),
      d.countRows('public.staging_events'),
      // the built-in counts as runChecks reads them: one statement
      d.countsAtOnce([
        d.countSongplaysInInterval(hour.startMs, hour.endMs),
        d.countNextSongStaged(stg),
        ...TABLES.flatMap((t) => [d.countNullKeys(t), d.countDuplicateKeys(t, hour)]),
      ]),
    ]),
    'record-run': render(
      d.recordRun({
        workflowId: 'wf',
        runId: 'run',
        ...hour,
        status: 'succeeded',
        rows: { songplays: 1 },
        checks: [],
        durationsMs: {},
      }),
    ),
    'read-runs': render([
      d.runsOverlapping({
        start: '2018-11-15T00:00:00',
        end: '2018-11-16T00:00:00',
        idPrefix: 'sparkify-',
        idPrefixEnd: 'sparkify.',
      }),
      d.previousRunStatus('wf', 'run'),
      d.recordedRun('wf', 'run'),
    ]),
    'alert-outbox': render([
      d.queueAlert({
        workflowId: 'sparkify-etl-2018-11-15T14:00:00Z',
        runId: 'r1',
        ...hour,
        status: 'failed',
        step: 'stageEvents',
        message: 'stageEvents: no such file',
        nowMs: Date.UTC(2018, 10, 15, 14, 1, 2, 3),
      }),
      ...d.claimAlerts({
        claim: 'c1',
        nowMs: Date.UTC(2018, 10, 15, 14, 1, 3),
        untilMs: Date.UTC(2018, 10, 15, 14, 1, 43),
        limit: 10,
      }),
      d.alertSent(held, Date.UTC(2018, 10, 15, 14, 1, 4)),
      d.alertRetryLater(held, Date.UTC(2018, 10, 15, 14, 1, 6), 'answered 503'),
      d.alertAbandoned(held, 'answered 404'),
    ]),
    migrations: render([
      d.createMigrationsTable,
      d.appliedMigrations,
      d.migrationLock,
      d.migrationApplied('001_schema.sql'),
      d.recordMigration('001_schema.sql', new Date(hour.startMs)),
    ]),
    'shared-statements': render([
      { text: 'BEGIN READ ONLY' },
      d.setLocalStatementTimeout(60_000),
      d.runAsRole('sparkify_checks'),
      d.stagedSongFiles,
      d.dropRunStaging(stg),
      d.unregisterRunStaging(RUN_KEY),
      d.migrationLock,
    ]),
  };
}

/** Members of a Dialect that group statements: their members need golden cases too. */
const GROUPS = new Set(['staging', 'sourceIndex']);

/** `object`, recording the name of every member read (also of its groups). */
function recording<T extends object>(object: T, read: Set<string>): T {
  return new Proxy(object, {
    get(target, key, receiver) {
      if (typeof key === 'string') read.add(key);
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof key === 'string' && GROUPS.has(key) && value && typeof value === 'object'
        ? recording(value, read)
        : value;
    },
  });
}

export interface GoldenCases {
  /** File name (`checks.sql`, `load-plans.txt`) to content. */
  files: Map<string, string>;
  /** Statements of the dialect that no case renders: each needs one. */
  unrendered: string[];
}

export function goldenCases(dialect: Dialect): GoldenCases {
  const read = new Set<string>();
  const cases = casesOf(recording(dialect, read));
  const members = [
    ...Object.keys(dialect),
    ...Object.keys(dialect.staging),
    ...Object.keys(dialect.sourceIndex ?? {}),
  ].filter((k) => !NOT_STATEMENTS.has(k));
  return {
    files: new Map(Object.entries(cases).map(([name, text]) => [path.extname(name) ? name : `${name}.sql`, text])),
    unrendered: members.filter((m) => !read.has(m)),
  };
}

export const goldenDir = (dialect: Dialect) => path.join(GOLDEN_ROOT, dialect.name);

/** Compares `actual` with its golden file; under UPDATE_GOLDEN=1 writes it first. A missing file fails. */
export function expectGolden(dialect: Dialect, file: string, actual: string): void {
  const golden = path.join(goldenDir(dialect), file);
  if (updating()) {
    mkdirSync(path.dirname(golden), { recursive: true });
    writeFileSync(golden, actual);
  }
  if (!existsSync(golden)) {
    throw new Error(
      `golden file test/golden/${dialect.name}/${file} is missing: run \`${UPDATE_COMMAND}\` and review it`,
    );
  }
  expect(actual).toBe(readFileSync(golden, 'utf8'));
}

/** Golden files no case produces any more (removed under UPDATE_GOLDEN=1). */
export function staleGoldenFiles(dialect: Dialect, cases: GoldenCases): string[] {
  const dir = goldenDir(dialect);
  const stale = existsSync(dir) ? readdirSync(dir).filter((f) => !cases.files.has(f)) : [];
  if (updating()) for (const f of stale) rmSync(path.join(dir, f));
  return updating() ? [] : stale;
}
