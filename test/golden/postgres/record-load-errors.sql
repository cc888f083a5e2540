INSERT INTO load_errors (run_key, file, version, line, reason, raw)
         SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[])
         ON CONFLICT (file, version, line) DO UPDATE SET run_key = excluded.run_key, reason = excluded.reason,
           raw = excluded.raw, logged_at = now() AT TIME ZONE 'UTC';
-- values: ["20181115T1300_1h",["log_data/x.json"],["\"e7\""],[7],["Invalid JSON"],["{\"ts\":"]]
