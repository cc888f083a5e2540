DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS SELECT song_id, title, artist_id, year, duration FROM staging_songs;

DELETE FROM "songs" USING load_batch n WHERE "songs".song_id = n.song_id;

INSERT INTO "songs" (song_id, title, artist_id, year, duration) SELECT * FROM load_batch;
