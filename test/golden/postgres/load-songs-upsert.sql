SET LOCAL work_mem = '64MB';

WITH first AS (
      INSERT INTO dimension_loads (table_name, generation)
      SELECT 'songs', generation FROM song_staging_generation
       WHERE NOT EXISTS (SELECT 1 FROM dimension_loads WHERE table_name = 'songs')
      ON CONFLICT (table_name) DO UPDATE SET generation = excluded.generation
       WHERE dimension_loads.generation <> excluded.generation
      RETURNING 1),
    newer AS (
      UPDATE dimension_loads d SET generation = g.generation FROM song_staging_generation g
       WHERE d.table_name = 'songs' AND d.generation <> g.generation
      RETURNING 1)
    INSERT INTO "songs" AS target (song_id, title, artist_id, year, duration)
    SELECT * FROM (
  SELECT s.song_id, s.title, s.artist_id, s.year, s.duration
    FROM staging_songs s LEFT JOIN songs t ON t.song_id = s.song_id
   WHERE t.song_id IS NULL
      OR (t.title, t.artist_id, t.year, t.duration) IS DISTINCT FROM (s.title, s.artist_id, s.year, s.duration)
   ORDER BY s.song_id) batch WHERE EXISTS (SELECT 1 FROM first UNION ALL SELECT 1 FROM newer)
    ON CONFLICT (song_id) DO UPDATE SET title = excluded.title, artist_id = excluded.artist_id, year = excluded.year,
      duration = excluded.duration
      WHERE (target.title, target.artist_id, target.year, target.duration)
            IS DISTINCT FROM (excluded.title, excluded.artist_id, excluded.year, excluded.duration);
