SELECT pg_try_advisory_xact_lock(hashtext('sparkify-etl:source-index')) AS locked;

SELECT path, version FROM source_files WHERE source = $1::text;
-- values: ["s3://udacity-dend/"]

INSERT INTO source_files (source, path, version, size, lines, min_ts, max_ts, unhoured_lines, unhoured_digest)
         VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::int, $6::bigint, $7::bigint, $8::int, $9::text)
         ON CONFLICT (source, path) DO UPDATE SET version = excluded.version, size = excluded.size,
           lines = excluded.lines, min_ts = excluded.min_ts, max_ts = excluded.max_ts,
           unhoured_lines = excluded.unhoured_lines, unhoured_digest = excluded.unhoured_digest,
           last_changed = now() AT TIME ZONE 'UTC', indexed_at = now() AT TIME ZONE 'UTC';
-- values: ["s3://udacity-dend/","log_data/2018/11/2018-11-15-events.json","\"e15\"",1234,10,1542286800000,1542290399999,1,"abc"]

DELETE FROM source_file_hours WHERE source = $1::text AND path = $2::text;
-- values: ["s3://udacity-dend/","log_data/2018/11/2018-11-15-events.json"]

INSERT INTO source_file_hours (source, path, hour_start, lines, digest, first_byte, end_byte, first_line)
         SELECT $1::text, $2::text, timestamp 'epoch' + h * interval '1 millisecond', n, d, b, e, l
           FROM unnest($3::bigint[], $4::int[], $5::text[], $6::bigint[], $7::bigint[], $8::int[]) AS u(h, n, d, b, e, l);
-- values: ["s3://udacity-dend/","log_data/2018/11/2018-11-15-events.json",[1542286800000],[10],["d13"],[0],[4321],[1]]

DELETE FROM source_files WHERE source = $1::text AND path = ANY($2::text[]);
-- values: ["s3://udacity-dend/",["log_data/2018/11/2018-11-15-events.json"]]

SELECT h.path, f.version,
                CASE WHEN f.unhoured_lines = 0 AND bool_and(h.first_byte IS NOT NULL)
                     THEN min(h.first_byte) END AS first_byte,
                max(h.end_byte) AS end_byte, min(h.first_line) AS first_line
           FROM source_file_hours h JOIN source_files f ON f.source = h.source AND f.path = h.path
          WHERE h.source = $1::text
            AND h.hour_start >= date_trunc('hour', timestamp 'epoch' + $2::bigint * interval '1 millisecond')
            AND h.hour_start < timestamp 'epoch' + $3::bigint * interval '1 millisecond'
          GROUP BY h.path, f.version, f.unhoured_lines ORDER BY h.path;
-- values: ["s3://udacity-dend/",1542286800000,1542290400000]
