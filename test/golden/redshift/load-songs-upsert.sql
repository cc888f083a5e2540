DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS
                       SELECT * FROM (SELECT song_id, title, artist_id, year, duration FROM staging_songs) b WHERE EXISTS (
  SELECT 1 FROM song_staging_generation g LEFT JOIN dimension_loads d ON d.table_name = 'songs'
   WHERE d.generation IS NULL OR d.generation <> g.generation);

DELETE FROM dimension_loads WHERE table_name = 'songs';

INSERT INTO dimension_loads (table_name, generation)
                       SELECT 'songs', generation FROM song_staging_generation;

DELETE FROM "songs" USING load_batch n WHERE "songs".song_id = n.song_id;

INSERT INTO "songs" (song_id, title, artist_id, year, duration) SELECT * FROM load_batch;
