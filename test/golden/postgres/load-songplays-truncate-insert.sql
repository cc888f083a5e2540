SELECT pg_advisory_xact_lock_shared(hashtext('sparkify-etl:late-songs'));

SET LOCAL work_mem = '64MB';

TRUNCATE "songplays";

SAVEPOINT before_insert;

INSERT INTO "songplays" AS target (songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent, song_key)
  SELECT lpad(to_hex(e.ts), 12, '0') || left(md5(coalesce(e.userId, '') || '|' || e.sessionId || '|' || e.itemInSession || '|' || e.ts), 20) AS songplay_id,
         timestamp 'epoch' + e.ts * interval '1 millisecond' AS start_time,
         nullif(e.userId, '')::integer AS user_id, e.level, s.song_id, s.artist_id,
         e.sessionId AS session_id, e.location, e.userAgent AS user_agent,
         CASE WHEN s.song_id IS NULL THEN md5(e.song || chr(31) || e.artist || chr(31) || coalesce(e.length::text, '')) END AS song_key
    FROM "staging_events_20181115t1300_1h" e
    LEFT JOIN song_match s ON e.song = s.title AND e.artist = s.artist_name AND e.length = s.duration
   WHERE e.page = 'NextSong';

-- if it fails on a unique key (23505), instead:
ROLLBACK TO SAVEPOINT before_insert;

INSERT INTO "songplays" AS target (songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent, song_key)
  SELECT DISTINCT ON (songplay_id) * FROM (
  SELECT lpad(to_hex(e.ts), 12, '0') || left(md5(coalesce(e.userId, '') || '|' || e.sessionId || '|' || e.itemInSession || '|' || e.ts), 20) AS songplay_id,
         timestamp 'epoch' + e.ts * interval '1 millisecond' AS start_time,
         nullif(e.userId, '')::integer AS user_id, e.level, s.song_id, s.artist_id,
         e.sessionId AS session_id, e.location, e.userAgent AS user_agent,
         CASE WHEN s.song_id IS NULL THEN md5(e.song || chr(31) || e.artist || chr(31) || coalesce(e.length::text, '')) END AS song_key
    FROM "staging_events_20181115t1300_1h" e
    LEFT JOIN song_match s ON e.song = s.title AND e.artist = s.artist_name AND e.length = s.duration
   WHERE e.page = 'NextSong') p
   ORDER BY songplay_id, level, song_id, artist_id, location, user_agent, user_id, session_id;
