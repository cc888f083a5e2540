-- Sparkify star schema and the pipeline's own bookkeeping (PostgreSQL dialect).
-- Applied by `npm run db:init` in one transaction and recorded in etl_migrations.
-- Timestamps are UTC `timestamp` values, as in the original Redshift schema.

-- Template of a run's event staging. Each run stages into its own UNLOGGED copy of this table
-- (staging_events_<interval key>), so concurrent runs never see each other's rows.
CREATE TABLE IF NOT EXISTS staging_events (
  artist        text,
  auth          text,
  firstName     text,
  gender        text,
  itemInSession integer,
  lastName      text,
  length        double precision,
  level         text,
  location      text,
  method        text,
  page          text,
  registration  double precision,
  sessionId     integer,
  song          text,
  status        integer,
  ts            bigint,
  userAgent     text,
  userId        text
);

-- Every song ever staged, keyed by song_id; the fact load of any hour joins against it.
CREATE TABLE IF NOT EXISTS staging_songs (
  num_songs         integer,
  artist_id         text NOT NULL,
  artist_latitude   double precision,
  artist_longitude  double precision,
  artist_location   text,
  artist_name       text,
  song_id           text PRIMARY KEY,
  title             text,
  duration          double precision,
  year              integer
);
CREATE INDEX IF NOT EXISTS staging_songs_match_idx ON staging_songs (title, artist_name, duration);

-- Manifest of song files already staged: each file is read once, not every hour.
CREATE TABLE IF NOT EXISTS staged_song_files (
  path       text PRIMARY KEY,
  size       bigint NOT NULL,
  version    text NOT NULL,
  songs      integer NOT NULL,
  staged_at  timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

CREATE TABLE IF NOT EXISTS songplays (
  songplay_id  char(32) PRIMARY KEY,
  start_time   timestamp NOT NULL,
  user_id      integer,
  level        text,
  song_id      text,
  artist_id    text,
  session_id   integer,
  location     text,
  user_agent   text
);
CREATE INDEX IF NOT EXISTS songplays_start_time_idx ON songplays (start_time);

-- level_ts: the event time (epoch ms) that set `level`; only a newer event may change it,
-- so the order in which hours are loaded does not matter.
CREATE TABLE IF NOT EXISTS users (
  user_id     integer PRIMARY KEY,
  first_name  text,
  last_name   text,
  gender      text,
  level       text,
  level_ts    bigint
);

CREATE TABLE IF NOT EXISTS songs (
  song_id    text PRIMARY KEY,
  title      text,
  artist_id  text,
  year       integer,
  duration   double precision
);

CREATE TABLE IF NOT EXISTS artists (
  artist_id  text PRIMARY KEY,
  name       text,
  location   text,
  latitude   double precision,
  longitude  double precision
);

CREATE TABLE IF NOT EXISTS time (
  start_time  timestamp PRIMARY KEY,
  hour        integer,
  day         integer,
  week        integer,
  month       integer,
  year        integer,
  weekday     integer
);

-- Bad source lines kept when a run allows some (maxErrors > 0), like Redshift's stl_load_errors.
CREATE TABLE IF NOT EXISTS load_errors (
  id          bigserial PRIMARY KEY,
  run_key     text NOT NULL,
  file        text NOT NULL,
  line        integer NOT NULL,
  reason      text NOT NULL,
  raw         text,
  logged_at   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  UNIQUE (run_key, file, line)
);

-- One row per finished run (succeeded or failed its checks): the audit trail.
CREATE TABLE IF NOT EXISTS etl_runs (
  workflow_id     text NOT NULL,
  run_id          text NOT NULL,
  interval_start  timestamp NOT NULL,
  interval_end    timestamp NOT NULL,
  status          text NOT NULL,
  rows            jsonb NOT NULL,
  checks          jsonb NOT NULL,
  durations_ms    jsonb NOT NULL,
  finished_at     timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  PRIMARY KEY (workflow_id, run_id)
);
