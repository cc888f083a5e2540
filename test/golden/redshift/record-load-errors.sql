INSERT INTO load_errors (run_key, file, line, reason, raw)
           VALUES ($1::varchar, $2::varchar, $3::int, $4::varchar, $5::varchar);
-- values: ["20181115T1300_1h","log_data/x.json",7,"Invalid JSON","{\"ts\":"]
