SELECT pg_advisory_xact_lock_shared(hashtext('sparkify-etl:late-songs'));

SET LOCAL work_mem = '64MB';

DELETE FROM "songplays" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond';
-- values: [1542286800000,1542290400000]

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

-- after a re-load (the interval held rows before):
LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;

WITH unjustified AS (
             SELECT u.user_id FROM users u
              WHERE u.level_ts >= $1::bigint AND u.level_ts < $2::bigint
                AND NOT EXISTS (SELECT 1 FROM songplays p
                                 WHERE p.start_time = timestamp 'epoch' + u.level_ts * interval '1 millisecond'
                                   AND p.user_id = u.user_id AND p.level IS NOT DISTINCT FROM u.level)
           ), latest AS (
             SELECT DISTINCT ON (p.user_id) p.user_id, p.level, p.start_time FROM songplays p
              WHERE p.user_id IN (SELECT user_id FROM unjustified)
              ORDER BY p.user_id, p.start_time DESC, p.level DESC
           ), fixed AS (
             UPDATE users u SET level = l.level, level_ts = (extract(epoch FROM l.start_time) * 1000)::bigint
               FROM latest l WHERE u.user_id = l.user_id
             RETURNING u.user_id
           )
           DELETE FROM users u
            WHERE u.user_id IN (SELECT user_id FROM unjustified) AND u.user_id NOT IN (SELECT user_id FROM latest);
-- values: [1542286800000,1542290400000]
