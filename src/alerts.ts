/**
 * The failure webhook (ALERT_WEBHOOK_URL): one JSON POST per failed run, and one when a failed hour later
 * succeeds ("recovered"). The body has Slack's `text` (a Slack incoming webhook shows it as is) and the same
 * facts as fields for any other receiver. It carries names, times and the run's one-line cause, never a
 * credential: every secret the worker holds is masked out of the text first, whatever the cause says.
 */
export interface AlertSettings {
  webhookUrl: string;
  /** The Web UI, for the link to the run: SPARKIFY_UI_URL, else the dev server's. */
  uiUrl: string;
  namespace: string;
  /** Values never to send (the warehouse password, AWS and Temporal keys). */
  secrets: readonly string[];
}

export interface AlertEvent {
  kind: 'failed' | 'recovered';
  workflowId: string;
  runId: string;
  interval: { start: string; end: string };
  step?: string;
  message?: string;
}

export interface AlertBody {
  text: string;
  kind: AlertEvent['kind'];
  hour: string;
  interval: { start: string; end: string };
  workflowId: string;
  runId: string;
  step: string | null;
  message: string | null;
  url: string;
}

/** Masks each secret, and any `user:password@` in a URL, in `text`. */
export function mask(text: string, secrets: readonly string[]): string {
  let out = text.replace(/(\/\/[^/\s:@]+):[^@\s/]+@/g, '$1:***@');
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

export function runUrl(s: Pick<AlertSettings, 'uiUrl' | 'namespace'>, workflowId: string, runId: string): string {
  const base = s.uiUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(s.namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

export function alertBody(s: AlertSettings, e: AlertEvent): AlertBody {
  const hour = `${e.interval.start.slice(0, 16)}Z .. ${e.interval.end.slice(0, 16)}Z`;
  const url = runUrl(s, e.workflowId, e.runId);
  const message = e.message ? mask(e.message, s.secrets) : null;
  const text =
    e.kind === 'failed'
      ? // the run's message starts with its step already (`stageEvents: …`)
        `:red_circle: Sparkify ETL failed for ${hour}: ${message ?? e.step ?? 'an unknown step'} <${url}|${e.workflowId}>`
      : `:large_green_circle: Sparkify ETL recovered: ${hour} loaded <${url}|${e.workflowId}>`;
  return {
    text,
    kind: e.kind,
    hour: e.interval.start,
    interval: e.interval,
    workflowId: e.workflowId,
    runId: e.runId,
    step: e.step ?? null,
    message,
    url,
  };
}

/**
 * How long one POST from the outbox may take. Generous: the delivery is no part of any run, and a receiver
 * slower than this gets the alert again (same Idempotency-Key) at the next attempt.
 */
export const ALERT_REQUEST_TIMEOUT_MS = 30_000;
/** The in-run webhook of runs recorded before the outbox: within its local activity's 30 s. */
export const IN_RUN_ALERT_TIMEOUT_MS = 10_000;

/** A receiver's answer that retrying cannot change (a 4xx other than 408 and 429). */
export class AlertRejected extends Error {
  override name = 'AlertRejected';
}

/**
 * POSTs the alert. A network error or a 5xx/408/429 throws a plain Error (the activity's retry policy
 * retries it); the idempotency key lets a receiver drop the copy a lost acknowledgement can cause.
 */
export async function postAlert(
  s: AlertSettings,
  e: AlertEvent,
  timeoutMs = ALERT_REQUEST_TIMEOUT_MS,
  stop?: AbortSignal,
): Promise<void> {
  const body = alertBody(s, e);
  const timeout = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(s.webhookUrl, {
      method: 'POST',
      // A redirect is an error, never followed: the alert goes to the configured receiver or nowhere.
      redirect: 'error',
      headers: { 'content-type': 'application/json', 'idempotency-key': `${e.runId}:${e.kind}` },
      body: JSON.stringify(body),
      signal: stop ? AbortSignal.any([timeout, stop]) : timeout,
    });
  } catch (err) {
    if (timeout.aborted) {
      throw new Error(`the alert webhook (ALERT_WEBHOOK_URL) did not answer within ${timeoutMs / 1000} s`, {
        cause: err,
      });
    }
    if (stop?.aborted) throw new Error('the worker is stopping', { cause: err });
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `the alert webhook (ALERT_WEBHOOK_URL) could not be reached: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      { cause: err },
    );
  }
  await res.text().catch(() => undefined);
  if (res.ok) return;
  const what = `the alert webhook (ALERT_WEBHOOK_URL) answered ${res.status} ${res.statusText}`;
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new AlertRejected(what);
  throw new Error(what);
}
