DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS
      SELECT t.start_time, extract(hour FROM t.start_time)::int AS hour, extract(day FROM t.start_time)::int AS day,
             extract(week FROM t.start_time)::int AS week, extract(month FROM t.start_time)::int AS month,
             extract(year FROM t.start_time)::int AS year, extract(dow FROM t.start_time)::int AS weekday
        FROM (SELECT DISTINCT timestamp 'epoch' + ts * interval '1 millisecond' AS start_time FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong') t;

DELETE FROM "time" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond';
-- values: [1542286800000,1542290400000]

INSERT INTO "time" (start_time, hour, day, week, month, year, weekday) SELECT n.* FROM load_batch n
           WHERE NOT EXISTS (SELECT 1 FROM "time" t WHERE t.start_time = n.start_time);
