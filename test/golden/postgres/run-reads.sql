INSERT INTO run_hour_sources (run_id, workflow_id, source, hour_start, sources)
         SELECT $1::text, $2::text, $3::text, h.hour_start,
                coalesce((SELECT jsonb_object_agg(r.path,
                                   CASE WHEN f.version = r.version THEN md5(coalesce(fh.digest, '') || '/' || coalesce(f.unhoured_digest, '')) ELSE 'unindexed' END)
                            FROM unnest($4::text[], $5::text[]) AS r(path, version)
                            LEFT JOIN source_files f ON f.source = $3::text AND f.path = r.path
                            LEFT JOIN source_file_hours fh
                                   ON fh.source = $3::text AND fh.path = r.path AND fh.hour_start = h.hour_start
                           WHERE fh.path IS NOT NULL OR r.path = ('log_data/' || to_char(h.hour_start, 'YYYY/MM/YYYY-MM-DD') || '-events.json')), '{}'::jsonb)
                || CASE WHEN ('log_data/' || to_char(h.hour_start, 'YYYY/MM/YYYY-MM-DD') || '-events.json') = ANY($8::text[])
                        THEN jsonb_build_object(('log_data/' || to_char(h.hour_start, 'YYYY/MM/YYYY-MM-DD') || '-events.json'), 'missing') ELSE '{}'::jsonb END
           FROM generate_series(
                  date_trunc('hour', timestamp 'epoch' + ($6::bigint + 3599999) * interval '1 millisecond'),
                  timestamp 'epoch' + $7::bigint * interval '1 millisecond' - interval '1 hour',
                  interval '1 hour') AS h(hour_start)
         ON CONFLICT (run_id, hour_start) DO UPDATE SET sources = excluded.sources, source = excluded.source,
           read_at = clock_timestamp() AT TIME ZONE 'UTC';
-- values: ["run","wf","s3://udacity-dend/",["log_data/2018/11/2018-11-15-events.json"],["\"e15\""],1542286800000,1542290400000,["log_data/2018/11/2018-11-16-events.json"]]

INSERT INTO run_hour_sources (run_id, workflow_id, source, hour_start, sources)
         SELECT $1::text, $2::text, $3::text, h.hour_start,
                coalesce((SELECT jsonb_object_agg(x.path, x.digest) FROM (
                            SELECT fh.path, md5(coalesce(fh.digest, '') || '/' || coalesce(f.unhoured_digest, '')) AS digest
                              FROM source_file_hours fh
                              JOIN source_files f ON f.source = fh.source AND f.path = fh.path
                             WHERE fh.source = $3::text AND fh.hour_start = h.hour_start
                            UNION
                            SELECT f.path, md5(coalesce(fh.digest, '') || '/' || coalesce(f.unhoured_digest, ''))
                              FROM source_files f
                              LEFT JOIN source_file_hours fh
                                     ON fh.source = f.source AND fh.path = f.path AND fh.hour_start = h.hour_start
                             WHERE f.source = $3::text AND f.path = ('log_data/' || to_char(h.hour_start, 'YYYY/MM/YYYY-MM-DD') || '-events.json')) x), '{}'::jsonb)
           FROM generate_series(
                  date_trunc('hour', timestamp 'epoch' + ($4::bigint + 3599999) * interval '1 millisecond'),
                  timestamp 'epoch' + $5::bigint * interval '1 millisecond' - interval '1 hour',
                  interval '1 hour') AS h(hour_start)
         ON CONFLICT (run_id, hour_start) DO NOTHING;
-- values: ["run","wf","s3://udacity-dend/",1542286800000,1542290400000]

WITH latest AS (
           SELECT DISTINCT ON (s.hour_start) s.hour_start, s.run_id, e.workflow_id, e.status, s.sources
             FROM run_hour_sources s JOIN etl_runs e ON e.run_id = s.run_id
            WHERE s.source = $1::text
              AND s.hour_start >= timestamp 'epoch' + $2::bigint * interval '1 millisecond'
              AND s.hour_start < timestamp 'epoch' + $3::bigint * interval '1 millisecond'
              AND e.workflow_id >= $5::text AND e.workflow_id < $6::text
            ORDER BY s.hour_start, s.read_at DESC
         ), feeding AS (
           SELECT fh.hour_start, fh.path FROM source_file_hours fh
            WHERE fh.source = $1::text
              AND fh.hour_start >= timestamp 'epoch' + $2::bigint * interval '1 millisecond'
              AND fh.hour_start < timestamp 'epoch' + $3::bigint * interval '1 millisecond'
           UNION
           SELECT l.hour_start, f.path FROM latest l
             JOIN source_files f ON f.source = $1::text AND f.path = ('log_data/' || to_char(l.hour_start, 'YYYY/MM/YYYY-MM-DD') || '-events.json')
         ), now_items AS (
           SELECT g.hour_start, g.path, md5(coalesce(fh.digest, '') || '/' || coalesce(f.unhoured_digest, '')) AS digest
             FROM feeding g
             JOIN source_files f ON f.source = $1::text AND f.path = g.path
             LEFT JOIN source_file_hours fh
                    ON fh.source = $1::text AND fh.path = g.path AND fh.hour_start = g.hour_start
           UNION ALL
           SELECT l.hour_start, ('log_data/' || to_char(l.hour_start, 'YYYY/MM/YYYY-MM-DD') || '-events.json'), 'missing' FROM latest l
            WHERE l.sources ->> ('log_data/' || to_char(l.hour_start, 'YYYY/MM/YYYY-MM-DD') || '-events.json') = 'missing'
              AND NOT EXISTS (SELECT 1 FROM source_files f
                               WHERE f.source = $1::text AND f.path = ('log_data/' || to_char(l.hour_start, 'YYYY/MM/YYYY-MM-DD') || '-events.json'))
         ), judged AS (
           -- one pass grouped by hour over what was read and what is there now (no join of the two)
           SELECT u.hour_start, max(u.workflow_id) AS workflow_id, max(u.status) AS status,
                  (array_agg(u.read) FILTER (WHERE u.read IS NOT NULL))[1] AS read,
                  coalesce(jsonb_object_agg(u.path, u.digest) FILTER (WHERE u.path IS NOT NULL), '{}'::jsonb) AS now
             FROM (SELECT hour_start, workflow_id, status, sources AS read, NULL::text AS path, NULL::text AS digest
                     FROM latest
                   UNION ALL
                   SELECT hour_start, NULL, NULL, NULL, path, digest FROM now_items) u
            GROUP BY u.hour_start
           HAVING count(u.read) > 0
         ), marked AS (
           SELECT j.*, j.read <> j.now AS changed,
                  ($7::boolean AND j.status = 'succeeded' AND j.read <> j.now AND j.read @> j.now) AS held
             FROM judged j
         ), held_files AS (
           SELECT DISTINCT k.path FROM marked m CROSS JOIN LATERAL jsonb_object_keys(m.read) AS k(path)
            WHERE m.held AND NOT m.now ? k.path
         )
         SELECT c.total_stale, c.failed_unchanged, c.total_held, c.held_from_ms, c.held_to_ms,
                (SELECT count(*)::int FROM held_files) AS held_files_total,
                (SELECT array_agg(path ORDER BY path)
                   FROM (SELECT path FROM held_files ORDER BY path LIMIT 20) n) AS held_files,
                t.hour_start_ms, t.workflow_id, t.read, t.now
           FROM (SELECT count(*) FILTER (WHERE changed AND NOT held)::int AS total_stale,
                        count(*) FILTER (WHERE NOT changed AND status <> 'succeeded')::int AS failed_unchanged,
                        count(*) FILTER (WHERE held)::int AS total_held,
                        (extract(epoch FROM min(hour_start) FILTER (WHERE held)) * 1000)::bigint AS held_from_ms,
                        (extract(epoch FROM max(hour_start) FILTER (WHERE held)) * 1000)::bigint AS held_to_ms
                   FROM marked) c
           LEFT JOIN LATERAL (
             SELECT (extract(epoch FROM m.hour_start) * 1000)::bigint AS hour_start_ms, m.workflow_id, m.read, m.now
               FROM marked m
              WHERE m.changed AND NOT m.held
              ORDER BY m.hour_start
              LIMIT $4::int) t ON true
          ORDER BY t.hour_start_ms;
-- values: ["s3://udacity-dend/",1539694800000,1542290400000,100,"sparkify-","sparkify.",true]

SELECT (extract(epoch FROM s.hour_start) * 1000)::bigint AS hour_start_ms, s.run_id,
                array_agg(m.key ORDER BY m.key) AS files
           FROM run_hour_sources s CROSS JOIN LATERAL jsonb_each_text(s.sources) AS m(key, value)
          WHERE s.hour_start >= timestamp 'epoch' + $1::bigint * interval '1 millisecond'
            AND s.hour_start < timestamp 'epoch' + $2::bigint * interval '1 millisecond'
            AND s.workflow_id >= $3::text AND s.workflow_id < $4::text
            AND m.value = 'missing'
          GROUP BY s.hour_start, s.run_id;
-- values: [1542286800000,1542290400000,"sparkify-","sparkify."]
