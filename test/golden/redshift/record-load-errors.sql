DELETE FROM load_errors
             WHERE (file = $1::varchar AND version = $2::varchar AND line = $3::int);
-- values: ["log_data/x.json","\"e7\"",7]

INSERT INTO load_errors (run_key, file, version, line, reason, raw)
             VALUES ($1::varchar, $2::varchar, $3::varchar, $4::int, $5::varchar, $6::varchar);
-- values: ["20181115T1300_1h","log_data/x.json","\"e7\"",7,"Invalid JSON","{\"ts\":"]
