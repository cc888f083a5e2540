-- Plays that matched no song keep the hash of their match key (title, artist name, duration), as in PostgreSQL
-- (sql/008_source_index.sql). Redshift keeps no source index and does not re-match yet (docs/redshift.md).
ALTER TABLE songplays ADD COLUMN song_key varchar(32);
