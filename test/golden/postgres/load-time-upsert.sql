SET LOCAL work_mem = '64MB';

DELETE FROM "time" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond';
-- values: [1542286800000,1542290400000]

INSERT INTO "time" AS target (start_time, hour, day, week, month, year, weekday)
  SELECT t.start_time, date_part('hour', t.start_time), date_part('day', t.start_time),
         date_part('week', t.start_time), date_part('month', t.start_time), date_part('year', t.start_time),
         date_part('dow', t.start_time)
    FROM (SELECT DISTINCT timestamp 'epoch' + ts * interval '1 millisecond' AS start_time FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong') t
   ORDER BY t.start_time;
