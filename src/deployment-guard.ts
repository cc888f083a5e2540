import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { WRONG_DEPLOYMENT } from './failures';
import { deploymentOfWatcherId, deploymentOfWorkflowId } from './interval';

/** The deployment whose id convention a workflow follows: an hour's run, or a late-data watcher's cycle. */
export function ownerOf(workflow: { id: string; type: string }): string | undefined {
  return workflow.type === 'LateDataWatcher' ? deploymentOfWatcherId(workflow.id) : deploymentOfWorkflowId(workflow.id);
}

/**
 * Why a worker of `deployment` must not run a step of `workflow`, or undefined when it may: its id follows
 * another deployment's convention (`<other>-<time>`, `<other>-late-data-<time>`). Ids of no deployment (given by
 * hand) are run.
 */
export function foreignRunProblem(
  workflow: { id: string; type: string },
  worker: { deployment: string; taskQueue: string; namespace: string },
): string | undefined {
  const owner = ownerOf(workflow);
  if (owner === undefined || owner === worker.deployment) return undefined;
  return (
    `refused by a worker of deployment "${worker.deployment}": this run is deployment "${owner}"'s, and a step ` +
    `here would write to "${worker.deployment}"'s warehouse. The two deployments share task queue ` +
    `"${worker.taskQueue}" in namespace "${worker.namespace}": give each deployment its own namespace ` +
    '(TEMPORAL_NAMESPACE), or at least its own TASK_QUEUE (by default the deployment name)'
  );
}

/**
 * Every step (activity or local activity) of a run that belongs to another deployment fails at once, before it
 * touches the warehouse or the source, with the message above: a run of staging never loads into production's
 * warehouse because the two deployments' workers poll one task queue.
 */
export function deploymentGuard(worker: {
  deployment: string;
  taskQueue: string;
  namespace: string;
}): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const id = ctx.info.workflowExecution?.workflowId;
        const problem =
          id === undefined ? undefined : foreignRunProblem({ id, type: ctx.info.workflowType ?? '' }, worker);
        if (problem) throw ApplicationFailure.nonRetryable(problem, WRONG_DEPLOYMENT);
        return next(input);
      },
    },
  });
}
