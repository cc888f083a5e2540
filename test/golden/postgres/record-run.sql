INSERT INTO etl_runs (workflow_id, run_id, interval_start, interval_end, status, rows, checks, durations_ms,
                           failed_step, error, cleanup_error)
         VALUES ($1::text, $2::text, timestamp 'epoch' + $3::bigint * interval '1 millisecond', timestamp 'epoch' + $4::bigint * interval '1 millisecond', $5::text,
                 $6::jsonb, $7::jsonb, $8::jsonb, $9::text, $10::text, $11::text)
         ON CONFLICT (workflow_id, run_id) DO UPDATE SET status = excluded.status, rows = excluded.rows,
           checks = excluded.checks, durations_ms = excluded.durations_ms, failed_step = excluded.failed_step,
           error = excluded.error, cleanup_error = excluded.cleanup_error, finished_at = now() AT TIME ZONE 'UTC';
-- values: ["wf","run",1542286800000,1542290400000,"succeeded","{\"songplays\":1}","[]","{}",null,null,null]
