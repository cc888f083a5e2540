INSERT INTO alert_outbox (run_id, kind, workflow_id, interval_start, interval_end, step, message,
                                   created_at, next_attempt_at)
         SELECT $1::varchar(65535), k.kind, $2::varchar(65535), timestamp 'epoch' + $3::bigint * interval '1 millisecond', timestamp 'epoch' + $4::bigint * interval '1 millisecond',
                $5::varchar(65535), $6::varchar(65535), $7::timestamp, $7::timestamp
           FROM (SELECT CASE WHEN $8::varchar(65535) = 'succeeded' THEN 'recovered' ELSE 'failed' END AS kind) k
          WHERE ($8::varchar(65535) <> 'succeeded'
                 OR coalesce((SELECT status FROM etl_runs WHERE workflow_id = $2::varchar(65535) AND run_id <> $1::varchar(65535)
                               ORDER BY finished_at DESC LIMIT 1), 'succeeded') <> 'succeeded')
            AND NOT EXISTS (SELECT 1 FROM alert_outbox o WHERE o.run_id = $1::varchar(65535) AND o.kind = k.kind);
-- values: ["r1","sparkify-etl-2018-11-15T14:00:00Z",1542286800000,1542290400000,"stageEvents","stageEvents: no such file","2018-11-15T14:01:02.003","failed"]

UPDATE alert_outbox o SET claim = $1::text, claimed_until = $3::timestamp, attempts = o.attempts + 1
             FROM (SELECT run_id, kind FROM alert_outbox WHERE state = 'pending' AND next_attempt_at <= $2::timestamp
             AND (claimed_until IS NULL OR claimed_until < $2::timestamp)
                    ORDER BY next_attempt_at LIMIT $4::int FOR UPDATE SKIP LOCKED) due
            WHERE o.run_id = due.run_id AND o.kind = due.kind
        RETURNING o.run_id, o.kind, o.workflow_id,
  to_char(o.interval_start, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_start,
  to_char(o.interval_end, 'YYYY-MM-DD"T"HH24:MI:SS') AS interval_end,
  o.step, o.message, o.attempts, to_char(o.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS created_at;
-- values: ["c1","2018-11-15T14:01:03.000","2018-11-15T14:01:43.000",10]

UPDATE alert_outbox SET state = 'sent', sent_at = $4::timestamp, claim = NULL, claimed_until = NULL,
                                 last_error = NULL
          WHERE run_id = $1::varchar(65535) AND kind = $2::varchar(65535) AND claim = $3::varchar(64);
-- values: ["r1","failed","c1","2018-11-15T14:01:04.000"]

UPDATE alert_outbox SET next_attempt_at = $4::timestamp, last_error = $5::varchar(1024), claim = NULL,
                                 claimed_until = NULL
          WHERE run_id = $1::varchar(65535) AND kind = $2::varchar(65535) AND claim = $3::varchar(64);
-- values: ["r1","failed","c1","2018-11-15T14:01:06.000","answered 503"]

UPDATE alert_outbox SET state = 'abandoned', last_error = $4::varchar(1024), claim = NULL,
                                 claimed_until = NULL
          WHERE run_id = $1::varchar(65535) AND kind = $2::varchar(65535) AND claim = $3::varchar(64);
-- values: ["r1","failed","c1","answered 404"]
