import type { Pool } from 'pg';

/** Each star table's key column. */
export const KEYS: Record<string, string> = {
  songplays: 'songplay_id',
  users: 'user_id',
  songs: 'song_id',
  artists: 'artist_id',
  time: 'start_time',
};

/** An ordered checksum and row count of every star-schema table: two warehouses are equal when these are. */
export async function tableChecksums(pool: Pool): Promise<Record<string, { rows: number; md5: string }>> {
  const out: Record<string, { rows: number; md5: string }> = {};
  for (const [table, key] of Object.entries(KEYS)) {
    const res = await pool.query(
      `SELECT count(*)::int AS rows, coalesce(md5(string_agg(t::text, '|' ORDER BY t.${key})), '') AS md5 FROM "${table}" t`,
    );
    out[table] = res.rows[0];
  }
  return out;
}
