-- Where each hour's lines are in its file (source_file_hours): from the start of the hour's first line to the end
-- of its last, and that first line's number. A run reads that range of an indexed file whose version is the one
-- indexed (and that holds no line whose time cannot be read), not the whole day file: a year of hourly runs read
-- each day file 24 times. Rows indexed before this have no range; their files are read whole until re-indexed.
ALTER TABLE source_file_hours ADD COLUMN IF NOT EXISTS first_byte bigint;
ALTER TABLE source_file_hours ADD COLUMN IF NOT EXISTS end_byte bigint;
ALTER TABLE source_file_hours ADD COLUMN IF NOT EXISTS first_line integer;
