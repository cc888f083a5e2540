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
