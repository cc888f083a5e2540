DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS
      SELECT songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent, song_key FROM (
        SELECT p.*, row_number() OVER (PARTITION BY songplay_id ORDER BY level, song_id, artist_id, location, user_agent, user_id, session_id) AS dup FROM (
          SELECT lpad(to_hex(e.ts), 12, '0') || left(md5(coalesce(e.userId, '') || '|' || e.sessionId || '|' || e.itemInSession || '|' || e.ts), 20) AS songplay_id,
                 timestamp 'epoch' + e.ts * interval '1 millisecond' AS start_time,
                 nullif(e.userId, '')::integer AS user_id, e.level, s.song_id, s.artist_id,
                 e.sessionId AS session_id, e.location, e.userAgent AS user_agent,
                 CASE WHEN s.song_id IS NULL THEN md5(e.song || chr(31) || e.artist || chr(31) || coalesce(e.length::text, '')) END AS song_key
            FROM "staging_events_20181115t1300_1h" e
            LEFT JOIN (SELECT title, artist_name, duration, song_id, artist_id,
                              row_number() OVER (PARTITION BY title, artist_name, duration ORDER BY song_id) AS rn
                         FROM staging_songs) s
              ON s.rn = 1 AND e.song = s.title AND e.artist = s.artist_name AND e.length = s.duration
           WHERE e.page = 'NextSong') p) d
       WHERE dup = 1;

DELETE FROM "songplays";

INSERT INTO "songplays" (songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent, song_key) SELECT * FROM load_batch;
