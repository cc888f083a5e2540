import { makeAlertRun } from './alert';
import { makeRunChecks, type RunChecksDeps } from './checks';
import { makeFinishRun, makeLoadTables, makeRunSmallHour, makeStageHour } from './fast-path';
import { makeDropRunStaging, makeRecordRun } from './finish';
import { makeFindStaleHours, makeRefreshSourceIndex } from './late-data';
import { makeLoadTable } from './load';
import { makeStageEvents } from './stage-events';
import { makeStageSongs } from './stage-songs';

export type { ActivityDeps } from './deps';
export type { RunChecksDeps } from './checks';

/** The activities of SparkifyEtl over their dependencies; the worker builds the pool once. */
export function createActivities(deps: RunChecksDeps) {
  const steps = {
    stageEvents: makeStageEvents(deps),
    stageSongs: makeStageSongs(deps),
    loadTable: makeLoadTable(deps),
    runChecks: makeRunChecks(deps),
    recordRun: makeRecordRun(deps),
  };
  const fast = {
    stageHour: makeStageHour(steps.stageEvents, steps.stageSongs),
    loadTables: makeLoadTables(steps.loadTable),
    finishRun: makeFinishRun(steps.runChecks, steps.recordRun),
  };
  return {
    ...steps,
    dropRunStaging: makeDropRunStaging(deps),
    // the fast path's combined steps, over the same instances
    ...fast,
    runSmallHour: makeRunSmallHour(fast.stageHour, fast.loadTables, fast.finishRun),
    alertRun: makeAlertRun(deps),
    refreshSourceIndex: makeRefreshSourceIndex(deps),
    findStaleHours: makeFindStaleHours(deps),
  };
}

export type SparkifyActivities = ReturnType<typeof createActivities>;
