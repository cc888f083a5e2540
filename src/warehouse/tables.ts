/**
 * The identifiers statements splice into their text, validated here (values are always bound): a run's staging
 * table, built from a validated run key, and tables named in configuration. Also each star table's key.
 */
import { escapeIdentifier } from 'pg';
import type { StarTable } from '../types';

// a run key (interval.ts `intervalKey`), optionally followed by 8 hex digits of the run's id (its staging key)
const RUN_KEY = /^[0-9]{8}t[0-9]{4,9}_(1h|[0-9]{8}t[0-9]{4,9})(_[0-9a-f]{8})?$/;
export const STAGING_PREFIX = 'staging_events_';

/** Validates a run's staging key (see types.ts `stagingKeyOf`) and returns its staging table, quoted. */
export function runStagingTable(runKey: string): string {
  const key = runKey.toLowerCase();
  if (!RUN_KEY.test(key)) throw new Error(`invalid run key "${runKey}"`);
  return escapeIdentifier(STAGING_PREFIX + key);
}

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/i;
/** A table named in configuration (e.g. a row-count check): `name` or `schema.name`, quoted. */
export function quoteTableName(name: string): string {
  if (!TABLE_NAME.test(name)) {
    throw new Error(`"${name}" is not a valid table name (letters, digits and _; optionally schema.table)`);
  }
  return name.split('.').map(escapeIdentifier).join('.');
}

export interface TableKey {
  key: string;
  /** Every key the load writes lies in the run's interval (it starts with the event time), and a written row never changes. */
  keyInInterval: boolean;
}

export const TABLE_KEYS: Record<StarTable, TableKey> = {
  songplays: { key: 'songplay_id', keyInInterval: true },
  users: { key: 'user_id', keyInInterval: false },
  songs: { key: 'song_id', keyInInterval: false },
  artists: { key: 'artist_id', keyInInterval: false },
  time: { key: 'start_time', keyInInterval: true },
};

/** Whether the duplicate-key check looks only at the run's interval: tables keyed within it (songplays, time). */
export const duplicatesCheckedInInterval = (table: StarTable): boolean => TABLE_KEYS[table].keyInInterval;
