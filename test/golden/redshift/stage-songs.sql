LOCK staged_song_files;

DROP TABLE IF EXISTS song_batch; CREATE TEMP TABLE song_batch (LIKE staging_songs);

DELETE FROM staging_songs USING song_batch b WHERE staging_songs.song_id = b.song_id;

INSERT INTO staging_songs (num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title, duration, year)
           SELECT num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title, duration, year FROM (
             SELECT *, row_number() OVER (PARTITION BY song_id ORDER BY title, artist_id) AS rn FROM song_batch
           ) b WHERE rn = 1;

UPDATE song_staging_generation SET generation = generation + 1;
