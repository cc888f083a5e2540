INSERT INTO run_staging (table_name, run_key, workflow_id) VALUES ($1::text, $2::text, $3::text)
         ON CONFLICT (table_name) DO UPDATE SET workflow_id = excluded.workflow_id,
           created_at = now() AT TIME ZONE 'UTC';
-- values: ["staging_events_20181115t1300_1h","20181115T1300_1h","wf"]

SELECT run_key FROM run_staging
          WHERE created_at < (now() AT TIME ZONE 'UTC') - $1::int * interval '1 hour' ORDER BY created_at;
-- values: [6]
