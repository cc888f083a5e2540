DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS
                       SELECT * FROM (
      SELECT artist_id, artist_name AS name, artist_location AS location, artist_latitude AS latitude,
             artist_longitude AS longitude FROM (
        SELECT *, row_number() OVER (PARTITION BY artist_id ORDER BY song_id) AS rn FROM staging_songs) a
       WHERE rn = 1) b WHERE EXISTS (
  SELECT 1 FROM song_staging_generation g LEFT JOIN dimension_loads d ON d.table_name = 'artists'
   WHERE d.generation IS NULL OR d.generation <> g.generation);

DELETE FROM dimension_loads WHERE table_name = 'artists';

INSERT INTO dimension_loads (table_name, generation)
                       SELECT 'artists', generation FROM song_staging_generation;

DELETE FROM "artists" USING load_batch n WHERE "artists".artist_id = n.artist_id;

INSERT INTO "artists" (artist_id, name, location, latitude, longitude) SELECT * FROM load_batch;
