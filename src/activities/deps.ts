import type { Pool } from 'pg';
import type { AlertSettings } from '../alerts';
import { openSource, SourceConfigError, type Source } from '../source';
import { postgres, type Dialect } from '../warehouse/dialect';
import { badConfig } from '../warehouse/errors';

/** What the activities need, built once by the worker (or by a test) and injected. */
export interface ActivityDeps {
  pool: Pool;
  /** Source used when the workflow input names none (the worker's SOURCE_URL). */
  defaultSource?: string;
  /** Warehouse dialect; PostgreSQL when not given. */
  dialect?: Dialect;
  /** What Redshift's COPY needs (redshift dialect only). */
  redshift?: RedshiftCopySettings;
  /** How old a listing of log_data a run's source index may rest on (default 1 s, stage-events.ts). */
  eventListingMaxAgeMs?: number;
  /** How old a listing of song_data a run may reuse (default 60 s). */
  songListingMaxAgeMs?: number;
  /** The failure webhook (ALERT_WEBHOOK_URL); no alerts when not given. */
  alerts?: AlertSettings;
  /** Called when recordRun has queued an alert: the worker's delivery sends it now rather than at its next poll. */
  onAlertQueued?: () => void;
}

export interface RedshiftCopySettings {
  iamRole: string;
  region: string;
  /** s3:// URL of sql/log_json_path.json, uploaded next to the data. */
  logJsonPath: string;
}

export function dialectOf(deps: ActivityDeps): Dialect {
  return deps.dialect ?? postgres;
}

export function resolveSource(deps: ActivityDeps, requested: string | undefined): Source {
  const url = requested || deps.defaultSource;
  if (!url) throw badConfig('no source configured: set SOURCE_URL for the worker or pass a source in the input');
  try {
    return openSource(url);
  } catch (err) {
    if (err instanceof SourceConfigError) throw badConfig(err.message);
    throw err;
  }
}
