SELECT workflow_id, run_id,
                to_char(interval_start, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_start,
                to_char(interval_end, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_end,
                to_char(finished_at, 'YYYY-MM-DD"T"HH24:MI:SS') AS finished_at,
                status, rows::text AS rows, failed_step, error
           FROM etl_runs
          WHERE interval_start < $2::timestamp AND interval_end > $1::timestamp
            AND workflow_id >= $3::text AND workflow_id < $4::text;
-- values: ["2018-11-15T00:00:00","2018-11-16T00:00:00","sparkify-","sparkify."]

SELECT status FROM etl_runs WHERE workflow_id = $1::text AND run_id <> $2::text
          ORDER BY finished_at DESC LIMIT 1;
-- values: ["wf","run"]

SELECT status, rows, checks FROM etl_runs WHERE workflow_id = $1::text AND run_id = $2::text;
-- values: ["wf","run"]
