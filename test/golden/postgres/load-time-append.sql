SET LOCAL work_mem = '64MB';

SAVEPOINT before_insert;

INSERT INTO "time" AS target (start_time, hour, day, week, month, year, weekday)
  SELECT t.start_time, date_part('hour', t.start_time), date_part('day', t.start_time),
         date_part('week', t.start_time), date_part('month', t.start_time), date_part('year', t.start_time),
         date_part('dow', t.start_time)
    FROM (SELECT DISTINCT timestamp 'epoch' + ts * interval '1 millisecond' AS start_time FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong') t
   ORDER BY t.start_time;

-- if it fails on a unique key (23505), instead:
ROLLBACK TO SAVEPOINT before_insert;

INSERT INTO "time" AS target (start_time, hour, day, week, month, year, weekday)
  SELECT t.start_time, date_part('hour', t.start_time), date_part('day', t.start_time),
         date_part('week', t.start_time), date_part('month', t.start_time), date_part('year', t.start_time),
         date_part('dow', t.start_time)
    FROM (SELECT DISTINCT timestamp 'epoch' + ts * interval '1 millisecond' AS start_time FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong') t
   ORDER BY t.start_time ON CONFLICT (start_time) DO NOTHING;
