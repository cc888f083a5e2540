DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS SELECT song_id, title, artist_id, year, duration FROM staging_songs;

INSERT INTO "songs" (song_id, title, artist_id, year, duration) SELECT n.* FROM load_batch n
           WHERE NOT EXISTS (SELECT 1 FROM "songs" t WHERE t.song_id = n.song_id);
