SET LOCAL work_mem = '64MB';

INSERT INTO "users" AS target (user_id, first_name, last_name, gender, level, level_ts)
  SELECT DISTINCT ON (userId::integer) userId::integer AS user_id, firstName, lastName, gender, level, ts
    FROM "staging_events_20181115t1300_1h"
   WHERE page = 'NextSong' AND userId <> ''
   ORDER BY userId::integer, ts DESC, level DESC ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
      gender = excluded.gender, level = excluded.level, level_ts = excluded.level_ts
      WHERE target.level_ts IS NULL OR excluded.level_ts > target.level_ts;
