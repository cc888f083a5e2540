SET LOCAL work_mem = '64MB';

TRUNCATE "songs";

INSERT INTO "songs" AS target (song_id, title, artist_id, year, duration)
  SELECT s.song_id, s.title, s.artist_id, s.year, s.duration
    FROM staging_songs s LEFT JOIN songs t ON t.song_id = s.song_id
   WHERE t.song_id IS NULL
      OR (t.title, t.artist_id, t.year, t.duration) IS DISTINCT FROM (s.title, s.artist_id, s.year, s.duration)
   ORDER BY s.song_id;
