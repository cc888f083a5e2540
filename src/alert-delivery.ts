import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { AlertRejected, postAlert, type AlertEvent, type AlertSettings, ALERT_REQUEST_TIMEOUT_MS } from './alerts';
import { durationText } from './schedule';
import type { ClaimedAlertRow, Dialect } from './warehouse/dialect';
import { withTransaction } from './warehouse/pool';

/**
 * Delivers the failure webhook's alerts from the outbox (sql/007_alert_outbox.sql), in the worker process and
 * never in a run: recordRun queues an alert with the run's etl_runs row, and this loop posts it. A slow or
 * absent receiver therefore delays nothing but the alert.
 *
 * - Claim: a worker takes due alerts for a while (long enough for one POST) and skips those another worker
 *   holds, so two workers never post one alert at once; a worker that dies mid-POST leaves its claim to
 *   expire, and another worker posts the alert again (with the same Idempotency-Key header).
 * - Retries: a network error, a timeout (ALERT_REQUEST_TIMEOUT_MS) or a 5xx/408/429 is tried again after 2 s,
 *   doubling up to 5 minutes, until ALERT_RETRY_FOR after the alert was queued: then it is given up, with a
 *   logged line. A refusal (another 4xx) is given up at once, also logged.
 * - Polls every `pollEveryMs`; recordRun in this process nudges it to post at once.
 */
export const ALERT_POLL_MS = 5_000;
export const ALERT_BACKOFF = { initialMs: 2_000, maximumMs: 5 * 60_000 } as const;
/** Claimed alerts a worker posts per round, one after the other. */
/**
 * One alert a claim: its lease covers one POST (timeout + margin). A larger batch posted one after another
 * outlived its lease, and another worker took, and posted, the rest again.
 */
const CLAIM_LIMIT = 1;
/** A claim outlives one POST by this much, so that no other worker takes an alert being posted. */
const CLAIM_MARGIN_MS = 30_000;

export interface AlertDeliveryLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface AlertDeliveryOptions {
  pool: Pool;
  dialect: Dialect;
  settings: AlertSettings;
  log: AlertDeliveryLog;
  /** How long after it was queued an alert is still tried (ALERT_RETRY_FOR). */
  retryForMs: number;
  pollEveryMs?: number;
  requestTimeoutMs?: number;
  now?: () => number;
}

export interface AlertDelivery {
  /** One round now: claims the due alerts and posts them. Resolves to how many were claimed. */
  deliverDue(): Promise<number>;
  /** A new alert was queued: a round as soon as the current one ends. */
  nudge(): void;
  /** Stops polling, aborts a POST in flight (its alert is released for the next worker) and waits for the round. */
  stop(): Promise<void>;
}

/** The wait before the attempt after `attempts` failed ones: 2 s, 4 s, 8 s, ... at most 5 minutes. */
export function alertBackoffMs(attempts: number): number {
  return Math.min(ALERT_BACKOFF.initialMs * 2 ** Math.max(0, attempts - 1), ALERT_BACKOFF.maximumMs);
}

const utc = (text: string) => Date.parse(`${text}Z`);

function eventOf(row: ClaimedAlertRow): AlertEvent {
  return {
    kind: row.kind,
    workflowId: row.workflow_id,
    runId: row.run_id,
    interval: {
      start: new Date(utc(row.interval_start)).toISOString(),
      end: new Date(utc(row.interval_end)).toISOString(),
    },
    ...(row.step ? { step: row.step } : {}),
    ...(row.message ? { message: row.message } : {}),
  };
}

export function startAlertDelivery(opts: AlertDeliveryOptions): AlertDelivery {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.requestTimeoutMs ?? ALERT_REQUEST_TIMEOUT_MS;
  const stopping = new AbortController();
  let round: Promise<number> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let unreachable = false;

  const deliver = async (row: ClaimedAlertRow, claimId: string): Promise<void> => {
    const held = { runId: row.run_id, kind: row.kind, claim: claimId };
    const event = eventOf(row);
    const about = { workflowId: row.workflow_id, hour: event.interval.start, attempt: row.attempts };
    try {
      await postAlert(opts.settings, event, timeoutMs, stopping.signal);
      await opts.pool.query(opts.dialect.alertSent(held, now()));
      opts.log.info(`alert sent: ${row.kind}`, about);
      return;
    } catch (err) {
      const error = (err as Error).message;
      if (stopping.signal.aborted) {
        await opts.pool.query(opts.dialect.alertRetryLater(held, now(), error));
        return;
      }
      const queuedFor = now() - utc(row.created_at);
      const next = now() + alertBackoffMs(row.attempts);
      if (err instanceof AlertRejected || next - utc(row.created_at) > opts.retryForMs) {
        await opts.pool.query(opts.dialect.alertAbandoned(held, error));
        opts.log.warn(
          `gave up on the ${row.kind} alert of ${row.workflow_id} after ${row.attempts} attempt(s) in ` +
            `${durationText(Math.max(1000, Math.round(queuedFor / 1000) * 1000))}: ${error}` +
            (err instanceof AlertRejected ? ' (a refusal is not retried)' : ' (ALERT_RETRY_FOR)'),
          about,
        );
        return;
      }
      await opts.pool.query(opts.dialect.alertRetryLater(held, next, error));
      opts.log.warn(
        `could not send the ${row.kind} alert; trying again at ${new Date(next).toISOString()}: ${error}`,
        about,
      );
    }
  };

  const once = async (): Promise<number> => {
    let rows: ClaimedAlertRow[];
    const claimId = randomUUID();
    try {
      const t = now();
      rows = await withTransaction(opts.pool, async (client) => {
        let claimed: ClaimedAlertRow[] = [];
        for (const s of opts.dialect.claimAlerts({
          claim: claimId,
          nowMs: t,
          untilMs: t + timeoutMs + CLAIM_MARGIN_MS,
          limit: CLAIM_LIMIT,
        }))
          claimed = (await client.query<ClaimedAlertRow>(s)).rows;
        return claimed;
      });
      if (unreachable) opts.log.info('the alert outbox answers again');
      unreachable = false;
    } catch (err) {
      // The warehouse is down, or (Redshift) another worker's claim won: the next round tries again.
      if (!unreachable) opts.log.warn('could not read the alert outbox', { error: (err as Error).message });
      unreachable = true;
      return 0;
    }
    for (const row of rows) {
      // A worker that stops hands what it claimed back at once rather than when the claim expires.
      const work = stopping.signal.aborted
        ? opts.pool.query(
            opts.dialect.alertRetryLater(
              { runId: row.run_id, kind: row.kind, claim: claimId },
              now(),
              'the worker stopped',
            ),
          )
        : deliver(row, claimId);
      await work.catch((err: unknown) =>
        opts.log.warn('could not record an alert delivery in the outbox', { error: (err as Error).message }),
      );
    }
    if (rows.length === CLAIM_LIMIT) again = true;
    return rows.length;
  };

  const schedule = (ms: number) => {
    if (stopping.signal.aborted) return;
    clearTimeout(timer);
    timer = setTimeout(() => void deliverDue(), ms);
    timer.unref();
  };

  const deliverDue = (): Promise<number> => {
    if (round) {
      again = true;
      return round;
    }
    clearTimeout(timer);
    round = once().finally(() => {
      round = undefined;
      const more = again;
      again = false;
      schedule(more ? 0 : (opts.pollEveryMs ?? ALERT_POLL_MS));
    });
    return round;
  };

  schedule(0);
  return {
    deliverDue,
    nudge: () => void deliverDue(),
    stop: async () => {
      stopping.abort();
      clearTimeout(timer);
      await round;
    },
  };
}
