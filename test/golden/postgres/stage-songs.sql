SELECT pg_advisory_xact_lock(hashtext('sparkify-etl:stage-songs'));

CREATE TEMP TABLE song_batch (LIKE staging_songs INCLUDING DEFAULTS) ON COMMIT DROP;
         ALTER TABLE song_batch ALTER COLUMN artist_id DROP NOT NULL;

COPY song_batch (num_songs, artist_id, artist_latitude, artist_longitude,
  artist_location, artist_name, song_id, title, duration, year) FROM STDIN;

INSERT INTO staging_songs AS s (num_songs, artist_id, artist_latitude, artist_longitude, artist_location,
           artist_name, song_id, title, duration, year)
         SELECT DISTINCT ON (song_id) num_songs, artist_id, artist_latitude, artist_longitude, artist_location,
                artist_name, song_id, title, duration, year
           FROM song_batch ORDER BY song_id
         ON CONFLICT (song_id) DO UPDATE SET
           num_songs = excluded.num_songs, artist_id = excluded.artist_id,
           artist_latitude = excluded.artist_latitude, artist_longitude = excluded.artist_longitude,
           artist_location = excluded.artist_location, artist_name = excluded.artist_name,
           title = excluded.title, duration = excluded.duration, year = excluded.year;

UPDATE song_staging_generation SET generation = generation + 1;

SELECT pg_advisory_xact_lock(hashtext('sparkify-etl:late-songs'));

UPDATE songplays p SET song_id = m.song_id, artist_id = m.artist_id, song_key = NULL
             FROM (SELECT DISTINCT ON (k) k, song_id, artist_id
                     FROM (SELECT md5(s.title || chr(31) || s.artist_name || chr(31) || coalesce(s.duration::text, '')) AS k, s.song_id, s.artist_id
                             FROM staging_songs s
                            WHERE (s.title, s.artist_name, s.duration) IN
                                  (SELECT title, artist_name, duration FROM song_batch)) x
                    WHERE k IS NOT NULL
                    ORDER BY k, song_id) m
            WHERE p.song_key = m.k;

DELETE FROM song_match;
         INSERT INTO song_match (title, artist_name, duration, song_id, artist_id)
         SELECT DISTINCT ON (title, artist_name, duration) title, artist_name, duration, song_id, artist_id
           FROM staging_songs
          WHERE title IS NOT NULL AND artist_name IS NOT NULL AND duration IS NOT NULL
          ORDER BY title, artist_name, duration, song_id;
         ANALYZE staging_songs, song_match;
