import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { WRONG_DEPLOYMENT } from './failures';
import { deploymentOfWorkflowId } from './interval';

/**
 * Why a worker of `deployment` must not run a step of `workflowId`, or undefined when it may: the id follows
 * another deployment's convention (`<other>-<time>`). Ids of no deployment (given by hand) are run.
 */
export function foreignRunProblem(
  workflowId: string,
  worker: { deployment: string; taskQueue: string; namespace: string },
): string | undefined {
  const owner = deploymentOfWorkflowId(workflowId);
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
        const workflowId = ctx.info.workflowExecution?.workflowId;
        const problem = workflowId === undefined ? undefined : foreignRunProblem(workflowId, worker);
        if (problem) throw ApplicationFailure.nonRetryable(problem, WRONG_DEPLOYMENT);
        return next(input);
      },
    },
  });
}
