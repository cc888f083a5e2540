-- songplays was distributed by song_id. Most plays match no song (in the real Sparkify data almost every
-- song_id is NULL), and every NULL hashes to the same slice, so one slice held nearly the whole fact table
-- and did nearly all the work of every query on it. It is now distributed by start_time: never NULL,
-- millisecond values that spread an hour's plays over every slice, and the distribution key of "time",
-- so the join to time stays on the slice. user_id was the other candidate; a few heavy listeners would
-- skew it, and EVEN would give up the co-located join for nothing.
--
-- A deep copy rather than ALTER DISTKEY: it runs inside the migration's transaction, so a failure leaves
-- the old table as it was.
CREATE TABLE songplays_by_start_time (
  songplay_id  char(32) NOT NULL,
  start_time   timestamp NOT NULL SORTKEY DISTKEY,
  user_id      integer,
  level        varchar(16),
  song_id      varchar(32),
  artist_id    varchar(32),
  session_id   integer,
  location     varchar(512),
  user_agent   varchar(1024),
  PRIMARY KEY (songplay_id)
);

INSERT INTO songplays_by_start_time (songplay_id, start_time, user_id, level, song_id, artist_id, session_id,
                                     location, user_agent)
SELECT songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent
  FROM songplays;

DROP TABLE songplays;

ALTER TABLE songplays_by_start_time RENAME TO songplays;
