BEGIN READ ONLY;

SET LOCAL statement_timeout = 60000;

SET LOCAL ROLE "sparkify_checks";

SELECT path, size, version FROM staged_song_files;

DROP TABLE IF EXISTS "staging_events_20181115t1300_1h";

DELETE FROM run_staging WHERE table_name = $1::text;
-- values: ["staging_events_20181115t1300_1h"]

SELECT pg_advisory_xact_lock(hashtext('sparkify-etl:migrate'));
