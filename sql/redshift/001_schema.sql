-- Sparkify star schema, Redshift dialect. Same tables and columns as ../001_schema.sql; Redshift does not
-- enforce keys, so the loads keep them unique themselves (delete + insert in one transaction).

CREATE TABLE IF NOT EXISTS staging_events (
  artist        varchar(512),
  auth          varchar(32),
  firstName     varchar(256),
  gender        varchar(8),
  itemInSession integer,
  lastName      varchar(256),
  length        double precision,
  level         varchar(16),
  location      varchar(512),
  method        varchar(16),
  page          varchar(64),
  registration  double precision,
  sessionId     integer,
  song          varchar(512),
  status        integer,
  ts            bigint,
  userAgent     varchar(1024),
  userId        varchar(16)
) DISTSTYLE EVEN;

-- Small and joined by every hour's fact load: a copy on every node.
CREATE TABLE IF NOT EXISTS staging_songs (
  num_songs         integer,
  artist_id         varchar(32) NOT NULL,
  artist_latitude   double precision,
  artist_longitude  double precision,
  artist_location   varchar(512),
  artist_name       varchar(512),
  song_id           varchar(32) NOT NULL,
  title             varchar(512),
  duration          double precision,
  year              integer,
  PRIMARY KEY (song_id)
) DISTSTYLE ALL SORTKEY (title);

CREATE TABLE IF NOT EXISTS staged_song_files (
  path       varchar(1024) NOT NULL,
  size       bigint NOT NULL,
  version    varchar(256) NOT NULL,
  songs      integer NOT NULL,
  staged_at  timestamp NOT NULL DEFAULT getdate(),
  PRIMARY KEY (path)
) DISTSTYLE ALL;

-- Redistributed by start_time in 005_songplays_distribution.sql (song_id is mostly NULL and skews).
CREATE TABLE IF NOT EXISTS songplays (
  songplay_id  char(32) NOT NULL,
  start_time   timestamp NOT NULL SORTKEY,
  user_id      integer,
  level        varchar(16),
  song_id      varchar(32) DISTKEY,
  artist_id    varchar(32),
  session_id   integer,
  location     varchar(512),
  user_agent   varchar(1024),
  PRIMARY KEY (songplay_id)
);

CREATE TABLE IF NOT EXISTS users (
  user_id     integer NOT NULL SORTKEY,
  first_name  varchar(256),
  last_name   varchar(256),
  gender      varchar(8),
  level       varchar(16),
  level_ts    bigint,
  PRIMARY KEY (user_id)
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS songs (
  song_id    varchar(32) NOT NULL SORTKEY DISTKEY,
  title      varchar(512),
  artist_id  varchar(32),
  year       integer,
  duration   double precision,
  PRIMARY KEY (song_id)
);

CREATE TABLE IF NOT EXISTS artists (
  artist_id  varchar(32) NOT NULL SORTKEY,
  name       varchar(512),
  location   varchar(512),
  latitude   double precision,
  longitude  double precision,
  PRIMARY KEY (artist_id)
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS "time" (
  start_time  timestamp NOT NULL SORTKEY DISTKEY,
  hour        integer,
  day         integer,
  week        integer,
  month       integer,
  year        integer,
  weekday     integer,
  PRIMARY KEY (start_time)
);

CREATE TABLE IF NOT EXISTS load_errors (
  id          bigint IDENTITY(1, 1),
  run_key     varchar(64) NOT NULL,
  file        varchar(1024) NOT NULL,
  line        integer NOT NULL,
  reason      varchar(1024) NOT NULL,
  raw         varchar(65535),
  logged_at   timestamp NOT NULL DEFAULT getdate()
);

CREATE TABLE IF NOT EXISTS etl_runs (
  workflow_id     varchar(256) NOT NULL,
  run_id          varchar(64) NOT NULL,
  interval_start  timestamp NOT NULL,
  interval_end    timestamp NOT NULL,
  status          varchar(32) NOT NULL,
  rows            varchar(65535) NOT NULL,
  checks          varchar(65535) NOT NULL,
  durations_ms    varchar(65535) NOT NULL,
  finished_at     timestamp NOT NULL DEFAULT getdate()
);
