-- As sql/004: bad source lines are keyed by file, version and line (Redshift does not enforce the key; the
-- pipeline deletes a line's earlier row before writing it again), and a song file in the manifest may be a
-- rejected one. Redshift's varchar widths already bound the staged text columns.
ALTER TABLE load_errors ADD COLUMN version varchar(256) DEFAULT '' NOT NULL;
ALTER TABLE staged_song_files ADD COLUMN rejected boolean DEFAULT false NOT NULL;
