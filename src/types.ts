/**
 * Types shared by the workflow, the activities and the commands. Type-only: safe in the workflow sandbox.
 *
 * Glossary
 * - run: one SparkifyEtl execution over one interval (see interval.ts).
 * - run key: the interval key; names the run's private staging table `staging_events_<run key>`.
 * - staging: copying source records into the warehouse as they are (events per run, songs cumulatively).
 * - load: building the star schema (songplays fact; users, songs, artists, time dimensions) from staging.
 * - load mode: how a load treats rows already in its table (see LoadMode).
 * - check: a data-quality assertion run after the loads; any failure fails the run.
 */
import type { Interval } from './interval';

export const DIMENSIONS = ['users', 'songs', 'artists', 'time'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const TABLES = ['songplays', ...DIMENSIONS] as const;
export type StarTable = (typeof TABLES)[number];

/**
 * - `upsert` (dimensions' default): insert new keys, update existing ones (users: only from a newer event).
 * - `replace` (the fact's default): delete the interval's rows and insert them again, in one transaction.
 * - `truncate-insert`: the original's truncate=True: empty the table, then insert this run's rows, atomically.
 * - `append`: the original's truncate=False, except that a key already present is never inserted twice.
 */
export const LOAD_MODES = ['upsert', 'replace', 'truncate-insert', 'append'] as const;
export type LoadMode = (typeof LOAD_MODES)[number];
export const FACT_MODES: readonly LoadMode[] = ['replace', 'truncate-insert', 'append'];
export const DIMENSION_MODES: readonly LoadMode[] = ['upsert', 'truncate-insert', 'append'];

export function allowedModes(table: StarTable): readonly LoadMode[] {
  return table === 'songplays' ? FACT_MODES : DIMENSION_MODES;
}

export type LoadModes = Partial<Record<StarTable, LoadMode>>;

/**
 * Why `mode` is not a load mode of `table`, or `table` not a star table; undefined when both are fine. The one
 * rule behind LOAD_MODES, `--mode`, the workflow's input check and the load itself.
 */
export function loadModeProblem(table: string, mode: unknown): string | undefined {
  if (!TABLES.includes(table as StarTable)) return `"${table}" is not a table (tables: ${TABLES.join(', ')})`;
  const allowed = allowedModes(table as StarTable);
  if (!allowed.includes(mode as LoadMode)) {
    const shown = typeof mode === 'string' ? `"${mode}"` : String(JSON.stringify(mode));
    // What an allowed mode does where its name says something else (time's upsert replaces the interval's rows):
    // said where a mode is refused, since that name is what someone asking for "replace" is looking for.
    const notes = allowed.flatMap((m) => {
      const note = loadModeNote(table, m);
      return note ? [`; ${table}'s ${m} ${note}`] : [];
    });
    return `${shown.slice(0, 40)} is not a load mode of ${table} (use ${allowed.join(', ')}${notes.join('')})`;
  }
  return undefined;
}

/** `TABLE=MODE` items (LOAD_MODES, `--mode`) as load modes, with one problem per bad item. */
export function parseLoadModes(items: string[]): { modes: LoadModes; problems: string[] } {
  const modes: LoadModes = {};
  const problems: string[] = [];
  for (const item of items) {
    const [table = '', mode, ...rest] = item.split('=');
    const problem =
      mode === undefined || rest.length ? `"${item}" is not TABLE=MODE` : loadModeProblem(table.trim(), mode.trim());
    if (problem) problems.push(problem);
    else modes[table.trim() as StarTable] = mode!.trim() as LoadMode;
  }
  return { modes, problems };
}

/**
 * What a table's load mode does where its name alone says something else, for the commands to print beside it:
 * time rows are keyed by the event time, so both dialects' `upsert` of time replaces the interval's rows (an
 * event removed from the source takes its row with it), as `replace` does for songplays. Undefined otherwise.
 */
export function loadModeNote(table: string, mode: unknown): string | undefined {
  return table === 'time' && mode === 'upsert' ? "replaces the interval's rows" : undefined;
}

export const DEFAULT_LOAD_MODES: Record<StarTable, LoadMode> = {
  songplays: 'replace',
  users: 'upsert',
  songs: 'upsert',
  artists: 'upsert',
  time: 'upsert',
};

/** What to do when an event day file the interval needs is not in the source. */
export type MissingFilePolicy = 'fail' | 'warn';

export type CompareOp = '=' | '!=' | '>' | '>=' | '<' | '<=';

/**
 * A data-quality check the run selects (Airflow's DataQualityOperator `dq_checks`). The input never carries
 * SQL: the SQL of a named check is a file the worker's operator reviewed (checks/*.sql, or CHECKS_DIR), and
 * the input can only pick it by name and adjust its comparison. check-selection.ts validates this shape.
 * - `{ name, expected?, op? }`: the named check's first column compared with `expected` by `op` (both
 *   default to the file's header).
 * - `{ name, table, minRows }`: a known table holds at least minRows rows; `name` labels the result.
 */
export type CheckSpec =
  { name: string; table: string; minRows: number } | { name: string; expected?: number; op?: CompareOp };

export interface CheckResult {
  name: string;
  passed: boolean;
  /** What was measured, e.g. `songplays in interval = 120, NextSong events staged = 120`. */
  detail: string;
  actual: number | null;
  expected: string;
}

export interface SparkifyEtlInput {
  /** Interval start (ISO-8601, UTC). With `end`; omitted for scheduled runs, which use the scheduled time. */
  start?: string;
  end?: string;
  /** Source of the raw files (folder, file:// or s3:// URL); defaults to the worker's SOURCE_URL. No credentials. */
  source?: string;
  loadModes?: LoadModes;
  /** Extra checks on top of the built-in ones. */
  checks?: CheckSpec[];
  /** Turn off the built-in checks (reconciliation, null keys, duplicate keys). */
  builtinChecks?: boolean;
  /** Bad source lines tolerated per run (kept in load_errors); 0 fails on the first one. */
  maxErrors?: number;
  onMissingFile?: MissingFilePolicy;
  /** How long a staging or load attempt may go without a heartbeat before it is retried elsewhere (default 1m). */
  heartbeatTimeout?: string;
  /**
   * How long a step keeps retrying what can heal (refused connection, deadlock, ...) before the run fails,
   * e.g. `10m` (the default). Errors that cannot heal fail at once.
   */
  retryBudget?: string;
  /** Load an interval that ends after the run started (a partial hour); refused otherwise. */
  allowIncomplete?: boolean;
  /**
   * Why this run was started, when not by the schedule or a person: the late-data watcher's
   * `late data: log_data/… changed`. Shown in the Web UI's input; changes nothing the run does.
   */
  reason?: string;
  /**
   * How the staging and load steps run (docs/architecture.md, "A small hour is one workflow task"):
   * - unset (the default): a small hour takes the fast path, one local activity that stages, loads, checks and
   *   records; a step that fails there, or is large (over 64 MiB of event files, over 500 new song files,
   *   loads of over 100,000 staged events), runs on its own as an ordinary activity, with its attempts, heartbeats
   *   and last failure in the Web UI's pending activities;
   * - true (`npm run backfill` asks for it): the same, but such a step runs as a local activity too, retried
   *   locally within the retry budget;
   * - false: every step as an ordinary activity.
   * Local steps show in the Web UI as markers (with their labels and results). The run, its id, its etl_runs
   * row and its retries are otherwise the same.
   */
  localSteps?: boolean;
}

/**
 * `stagingKey` names the run's private staging table (`staging_events_<staging key>`): the run key plus a
 * part of the run's id, so two runs of one interval (started under different workflow ids) never share it.
 * Runs from before it was introduced pass none and use the run key.
 */
export interface StagingRef {
  runKey: string;
  stagingKey?: string;
}

export interface StageEventsInput extends StagingRef {
  interval: Interval;
  source: string;
  maxErrors: number;
  onMissingFile: MissingFilePolicy;
  /** A local attempt with more bytes of files to read than this reads nothing and returns `handedOver`. */
  localLimitBytes?: number;
}

/** The key of a run's staging table. */
export function stagingKeyOf(ref: StagingRef): string {
  return ref.stagingKey ?? ref.runKey;
}

export interface StageEventsResult {
  table: string;
  files: number;
  missingFiles: string[];
  linesRead: number;
  rowsStaged: number;
  nextSongRows: number;
  badLines: number;
  durationMs: number;
  /** The local attempt found more to read than its limit and staged nothing: an ordinary activity does it. */
  handedOver?: boolean;
}

export interface StageSongsInput {
  source: string;
  maxErrors: number;
  runKey: string;
  /** A local attempt with more new or changed song files than this stages nothing and returns `handedOver`. */
  localLimitFiles?: number;
}

export interface StageSongsResult {
  filesSeen: number;
  filesStaged: number;
  songsStaged: number;
  badFiles: number;
  durationMs: number;
  /** As StageEventsResult's. */
  handedOver?: boolean;
}

export interface LoadInput extends StagingRef {
  interval: Interval;
  table: StarTable;
  mode: LoadMode;
}

export interface LoadResult {
  table: StarTable;
  mode: LoadMode;
  /** Rows inserted or changed by this load. */
  rowsWritten: number;
  durationMs: number;
}

export interface ChecksInput extends StagingRef {
  interval: Interval;
  builtin: boolean;
  checks: CheckSpec[];
}

export interface ChecksResult {
  results: CheckResult[];
  durationMs: number;
}

export interface RecordRunInput {
  workflowId: string;
  runId: string;
  /** When the workflow run started (ISO), for the run-duration metric. */
  startedAt: string;
  interval: Interval;
  status: RunStatus;
  rows: Record<string, number>;
  checks: CheckResult[];
  durationsMs: Record<string, number>;
  /** For a failed run: the step that failed (stageEvents, load songplays, ...) and the one-line cause. */
  failedStep?: string;
  error?: string;
  /** The clean-up's own failure, kept beside the run's error instead of replacing it. */
  cleanupError?: string;
  /**
   * Queue the run's alert in the outbox with its etl_runs row (when the worker has ALERT_WEBHOOK_URL): failed,
   * or recovered after a failed run of the hour. The worker process delivers it, outside the run.
   */
  queueAlert?: boolean;
  /**
   * Drop this run's staging once the record is committed (and sweep what runs that never finished left behind).
   * A drop that fails is returned as `cleanupError`, a warning: a later run's sweep drops the table.
   */
  dropStaging?: StagingRef;
}

export interface RecordRunResult {
  cleanupError?: string;
  /**
   * The counts recorded, when they are not the input's: the run was recorded before (replayed after its worker
   * stopped between the record and the history taking it) and kept the larger of each count. Absent otherwise.
   */
  rows?: Record<string, number>;
}

/**
 * A part of a small hour's combined step (SparkifyEtl's fast path): done, or the one-line reason it was not, in
 * which case the run does that part again on its own, as a run without the fast path does it.
 */
export type Tried<T> = { done: T } | { failed: string };

/** A part done in full: not failed, and not handed over as more than a local step takes. */
export function doneInFull<T>(part: Tried<T> | undefined): T | undefined {
  if (!part || !('done' in part) || (part.done as { handedOver?: boolean }).handedOver) return undefined;
  return part.done;
}

/** What a run records of its staging: rows staged and how long each step took (etl_runs rows, durations_ms). */
export function stagedRecord(events: StageEventsResult, songs: StageSongsResult) {
  return {
    rows: { staging_events: events.rowsStaged, staging_songs: songs.songsStaged },
    durationsMs: { stageEvents: events.durationMs, stageSongs: songs.durationMs },
  };
}

/** The same of its loads: rows written per table and each load's time (`load_<table>`). */
export function loadedRecord(loads: readonly LoadResult[]) {
  return {
    rows: Object.fromEntries(loads.map((l) => [l.table, l.rowsWritten])),
    durationsMs: Object.fromEntries(loads.map((l) => [`load_${l.table}`, l.durationMs])),
  };
}

export interface StageHourInput {
  events: StageEventsInput;
  songs: StageSongsInput;
}

export interface StageHourResult {
  events: Tried<StageEventsResult>;
  songs: Tried<StageSongsResult>;
}

/** The checks, then the audit record (its status from the checks) and the drop of the run's staging. */
export interface FinishRunInput {
  checks: ChecksInput;
  record: Omit<RecordRunInput, 'status' | 'checks' | 'failedStep' | 'error'>;
}

export interface FinishRunResult {
  checks: ChecksResult;
  cleanupError?: string;
  /** As RecordRunResult's. */
  rows?: Record<string, number>;
}

/**
 * A small hour in one local activity (SparkifyEtl's fast path since SINCE_2026_11_26_ONE_STEP): stageHour; then,
 * when it staged both and at most `loadRowsLimit` events, loadTables; then, when every load was done, finishRun
 * with the record's counts and durations of those steps. What it did not do, the run does on its own.
 */
export interface SmallHourInput {
  stage: StageHourInput;
  loads: LoadInput[];
  loadRowsLimit: number;
  checks: ChecksInput;
  /** The record without what the steps give (counts, durations). */
  record: Omit<FinishRunInput['record'], 'rows' | 'durationsMs'>;
}

export interface SmallHourResult {
  staged: StageHourResult;
  /** Absent when staging was not done in full or was large. */
  loads?: Tried<LoadResult>[];
  /** Absent when a load was not done, or the checks or the record failed. */
  finished?: FinishRunResult;
}

/** What the failure webhook needs of a recorded run: names and the one-line cause, never rows or secrets. */
export type AlertRunInput = Pick<
  RecordRunInput,
  'workflowId' | 'runId' | 'interval' | 'status' | 'failedStep' | 'error'
>;

/** A run's outcome in etl_runs and the run metrics. */
export type RunStatus = 'succeeded' | 'failed_checks' | 'failed';

export interface SparkifyEtlResult {
  workflowId: string;
  interval: Interval;
  staged: { events: StageEventsResult; songs: StageSongsResult };
  loads: LoadResult[];
  checks: CheckResult[];
  durationsMs: Record<string, number>;
  warnings: string[];
}
