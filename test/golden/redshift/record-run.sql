DELETE FROM etl_runs WHERE workflow_id = $1 AND run_id = $2;
-- values: ["wf","run"]

INSERT INTO etl_runs (workflow_id, run_id, interval_start, interval_end, status, rows, checks, durations_ms,
                             failed_step, error, cleanup_error)
           VALUES ($1, $2, timestamp 'epoch' + $3::bigint * interval '1 millisecond', timestamp 'epoch' + $4::bigint * interval '1 millisecond', $5, $6, $7, $8, $9, $10, $11);
-- values: ["wf","run",1542286800000,1542290400000,"succeeded","{\"songplays\":1}","[]","{}",null,null,null]
