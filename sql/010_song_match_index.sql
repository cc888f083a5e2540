-- The songplays load matches each event with a staged song by (title, artist name, duration), taking the
-- smallest song_id among songs that share those three. Read in that order from this index, the staged songs
-- need no sort: with bench d's 15,000 songs, the sort was most of a small hour's songplays load (13 ms of 16).
CREATE INDEX IF NOT EXISTS staging_songs_match_idx
  ON staging_songs (title, artist_name, duration, song_id) INCLUDE (artist_id);
