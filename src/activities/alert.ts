import { AlertRejected, postAlert, type AlertEvent } from '../alerts';
import type { AlertRunInput } from '../types';
import { badConfig, rethrowForActivity } from '../warehouse/errors';
import { dialectOf, type ActivityDeps } from './deps';
import { log } from './progress';

/**
 * After a run is recorded: posts the failure webhook for a failed run, or "recovered" when this successful
 * run follows a failed one of the same hour (same workflow id). Keyed by the run: it completes once the
 * receiver has the alert, so the retries of a failed POST send it once (a lost acknowledgement can still
 * repeat it; the idempotency-key header is there for that). Nothing to do without ALERT_WEBHOOK_URL.
 */
export function makeAlertRun(deps: ActivityDeps) {
  return async function alertRun(input: AlertRunInput): Promise<'sent' | 'none' | 'off'> {
    const settings = deps.alerts;
    if (!settings) return 'off';
    let event: AlertEvent;
    const { workflowId, runId, interval } = input;
    if (input.status !== 'succeeded') {
      event = {
        kind: 'failed',
        workflowId,
        runId,
        interval,
        step: input.failedStep ?? 'checks',
        message: input.error ?? input.status,
      };
    } else {
      let previous: string | undefined;
      try {
        previous = (await deps.pool.query<{ status: string }>(dialectOf(deps).previousRunStatus(workflowId, runId)))
          .rows[0]?.status;
      } catch (err) {
        rethrowForActivity(err, 'reading the previous run of the hour from etl_runs');
      }
      if (!previous || previous === 'succeeded') return 'none';
      event = { kind: 'recovered', workflowId, runId, interval };
    }
    try {
      await postAlert(settings, event);
    } catch (err) {
      if (err instanceof AlertRejected) throw badConfig(err.message);
      throw err;
    }
    log.info(`alert sent: ${event.kind}`, { workflowId, interval });
    return 'sent';
  };
}
