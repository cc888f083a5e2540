SET LOCAL work_mem = '64MB';

WITH first AS (
      INSERT INTO dimension_loads (table_name, generation)
      SELECT 'artists', generation FROM song_staging_generation
       WHERE NOT EXISTS (SELECT 1 FROM dimension_loads WHERE table_name = 'artists')
      ON CONFLICT (table_name) DO UPDATE SET generation = excluded.generation
       WHERE dimension_loads.generation <> excluded.generation
      RETURNING 1),
    newer AS (
      UPDATE dimension_loads d SET generation = g.generation FROM song_staging_generation g
       WHERE d.table_name = 'artists' AND d.generation <> g.generation
      RETURNING 1)
    INSERT INTO "artists" AS target (artist_id, name, location, latitude, longitude)
    SELECT * FROM (
  SELECT a.* FROM (
    SELECT DISTINCT ON (artist_id) artist_id, artist_name, artist_location, artist_latitude, artist_longitude
      FROM staging_songs ORDER BY artist_id, song_id) a
    LEFT JOIN artists t ON t.artist_id = a.artist_id
   WHERE t.artist_id IS NULL
      OR (t.name, t.location, t.latitude, t.longitude)
         IS DISTINCT FROM (a.artist_name, a.artist_location, a.artist_latitude, a.artist_longitude)
   ORDER BY a.artist_id) batch WHERE EXISTS (SELECT 1 FROM first UNION ALL SELECT 1 FROM newer)
    ON CONFLICT (artist_id) DO UPDATE SET name = excluded.name, location = excluded.location,
      latitude = excluded.latitude, longitude = excluded.longitude
      WHERE (target.name, target.location, target.latitude, target.longitude)
            IS DISTINCT FROM (excluded.name, excluded.location, excluded.latitude, excluded.longitude);
