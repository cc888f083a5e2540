DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS
      SELECT artist_id, artist_name AS name, artist_location AS location, artist_latitude AS latitude,
             artist_longitude AS longitude FROM (
        SELECT *, row_number() OVER (PARTITION BY artist_id ORDER BY song_id) AS rn FROM staging_songs) a
       WHERE rn = 1;

DELETE FROM "artists" USING load_batch n WHERE "artists".artist_id = n.artist_id;

INSERT INTO "artists" (artist_id, name, location, latitude, longitude) SELECT * FROM load_batch;
