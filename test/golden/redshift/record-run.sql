DELETE FROM etl_runs WHERE workflow_id = $1::varchar AND run_id = $2::varchar;
-- values: ["wf","run"]

INSERT INTO etl_runs (workflow_id, run_id, interval_start, interval_end, status, rows, checks, durations_ms,
                             failed_step, error, cleanup_error)
           VALUES ($1::varchar, $2::varchar, timestamp 'epoch' + $3::bigint * interval '1 millisecond', timestamp 'epoch' + $4::bigint * interval '1 millisecond', $5::varchar,
                   $6, $7, $8, $9::varchar, $10::varchar, $11::varchar);
-- values: ["wf","run",1542286800000,1542290400000,"succeeded","{\"songplays\":1}","[]","{}",null,null,null]
