-- Which state of staging_songs the songs and artists tables were last loaded from (as in PostgreSQL,
-- sql/009_song_generation.sql): a load that finds its table loaded from the current generation writes nothing.
CREATE TABLE IF NOT EXISTS song_staging_generation (
  generation bigint NOT NULL
);
INSERT INTO song_staging_generation (generation)
SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM song_staging_generation);

CREATE TABLE IF NOT EXISTS dimension_loads (
  table_name varchar(64) NOT NULL,
  generation bigint NOT NULL,
  PRIMARY KEY (table_name)
);
