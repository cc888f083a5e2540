-- Which state of staging_songs the songs and artists tables were last loaded from. Song staging counts up
-- song_staging_generation in the transaction that changes staging_songs; a songs or artists load that finds
-- its table already loaded from the current generation skips comparing every staged song with the table (most
-- hourly runs: staging_songs changes only when song files arrive). Deleting a row of dimension_loads makes
-- the next load of that table compare everything again.
CREATE TABLE IF NOT EXISTS song_staging_generation (
  generation bigint NOT NULL
);
INSERT INTO song_staging_generation (generation)
SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM song_staging_generation);

CREATE TABLE IF NOT EXISTS dimension_loads (
  table_name text PRIMARY KEY,
  generation bigint NOT NULL
);
