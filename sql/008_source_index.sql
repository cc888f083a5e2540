-- The source index (docs/data-semantics.md, "Late and corrected data"): every event file of a source, its
-- version, and for each UTC hour it holds events of, a digest of those lines. A file is read for the index only
-- when it is new or its version changed. Keyed by the source's location, so sources sharing a warehouse stay apart.
CREATE TABLE IF NOT EXISTS source_files (
  source          text NOT NULL,
  path            text NOT NULL,
  version         text NOT NULL,
  size            bigint NOT NULL,
  lines           integer NOT NULL,
  min_ts          bigint,
  max_ts          bigint,
  -- lines whose time cannot be read (bad lines that every run reading the file reports): their count and digest
  unhoured_lines  integer NOT NULL DEFAULT 0,
  unhoured_digest text,
  first_seen      timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  last_changed    timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  indexed_at      timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  PRIMARY KEY (source, path)
);

-- Per file (its current version) and UTC hour: how many lines have their ts in that hour, and a digest of their
-- bytes in file order. Appending events of hour X changes X's digest only.
CREATE TABLE IF NOT EXISTS source_file_hours (
  source      text NOT NULL,
  path        text NOT NULL,
  hour_start  timestamp NOT NULL,
  lines       integer NOT NULL,
  digest      text NOT NULL,
  PRIMARY KEY (source, path, hour_start),
  FOREIGN KEY (source, path) REFERENCES source_files (source, path) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS source_file_hours_by_hour ON source_file_hours (source, hour_start);

-- What each run read for each whole hour of its interval: { path: digest of what that file holds for the hour }.
-- Written in the staging transaction (so only a run whose staging committed has a row); an hour is stale when
-- the index now says something else than the latest finished run of the hour read.
CREATE TABLE IF NOT EXISTS run_hour_sources (
  run_id       text NOT NULL,
  workflow_id  text,
  source       text NOT NULL,
  hour_start   timestamp NOT NULL,
  sources      jsonb NOT NULL,
  read_at      timestamp NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
  PRIMARY KEY (run_id, hour_start)
);
CREATE INDEX IF NOT EXISTS run_hour_sources_by_hour ON run_hour_sources (source, hour_start, read_at);

-- Late songs re-match earlier plays: a play that matched no song keeps the hash of its match key (title, artist
-- name, duration); staging new songs re-matches those plays by it in one UPDATE, and clears the key.
ALTER TABLE songplays ADD COLUMN IF NOT EXISTS song_key text;
CREATE INDEX IF NOT EXISTS songplays_song_key_idx ON songplays (song_key) WHERE song_key IS NOT NULL;
