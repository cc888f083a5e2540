SET LOCAL work_mem = '64MB';

INSERT INTO "artists" AS target (artist_id, name, location, latitude, longitude)
  SELECT a.* FROM (
    SELECT DISTINCT ON (artist_id) artist_id, artist_name, artist_location, artist_latitude, artist_longitude
      FROM staging_songs ORDER BY artist_id, song_id) a
    LEFT JOIN artists t ON t.artist_id = a.artist_id
   WHERE t.artist_id IS NULL
      OR (t.name, t.location, t.latitude, t.longitude)
         IS DISTINCT FROM (a.artist_name, a.artist_location, a.artist_latitude, a.artist_longitude)
   ORDER BY a.artist_id ON CONFLICT (artist_id) DO NOTHING;
