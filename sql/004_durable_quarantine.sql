-- Bad source lines are the source's, not a run's: load_errors is keyed by the file, its version and the line,
-- so re-running an hour updates its rows instead of erasing or repeating them, and the record of a rejected
-- file stays until the file changes (a new version is read again and judged again). run_key becomes the last
-- run that found the line.
ALTER TABLE load_errors ADD COLUMN IF NOT EXISTS version text NOT NULL DEFAULT '';
ALTER TABLE load_errors DROP CONSTRAINT IF EXISTS load_errors_run_key_file_line_key;
DELETE FROM load_errors a USING load_errors b
 WHERE a.file = b.file AND a.version = b.version AND a.line = b.line AND a.id < b.id;
ALTER TABLE load_errors ADD CONSTRAINT load_errors_file_version_line_key UNIQUE (file, version, line);
CREATE INDEX IF NOT EXISTS load_errors_run_key_idx ON load_errors (run_key);

-- A song file in the manifest may have been rejected (its record is in load_errors): it is not read again
-- until its version changes, and `rejected` says why it holds no songs.
ALTER TABLE staged_song_files ADD COLUMN IF NOT EXISTS rejected boolean NOT NULL DEFAULT false;

-- The indexed text columns of staging_songs are bounded, in bytes, to their Redshift widths (the source
-- validation in src/source/records.ts rejects a wider value as a bad line first). The match index over
-- (title, artist_name, duration) then stays far below the btree entry limit, which a 100 KB artist_name
-- overflowed with SQLSTATE 54000. NOT VALID: rows already staged were indexed, so they fit.
ALTER TABLE staging_songs
  ADD CONSTRAINT staging_songs_bounded_text CHECK (
    octet_length(song_id) <= 32 AND octet_length(artist_id) <= 32 AND octet_length(title) <= 512
    AND octet_length(artist_name) <= 512 AND octet_length(artist_location) <= 512) NOT VALID;
