DELETE FROM run_staging WHERE table_name = $1::varchar;
-- values: ["staging_events_20181115t1300_1h"]

INSERT INTO run_staging (table_name, run_key, workflow_id) VALUES ($1::varchar, $2::varchar, $3::varchar);
-- values: ["staging_events_20181115t1300_1h","20181115T1300_1h","wf"]

SELECT run_key FROM run_staging WHERE created_at < dateadd(hour, -$1::int, getdate()) ORDER BY created_at;
-- values: [6]
