DROP TABLE IF EXISTS load_batch; CREATE TEMP TABLE load_batch AS
      SELECT user_id, firstName AS first_name, lastName AS last_name, gender, level, ts AS level_ts FROM (
        SELECT userId::integer AS user_id, firstName, lastName, gender, level, ts,
               row_number() OVER (PARTITION BY userId::integer ORDER BY ts DESC, level DESC) AS rn
          FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong' AND userId <> '') u
       WHERE rn = 1;

DELETE FROM load_batch USING users t WHERE t.user_id = load_batch.user_id AND t.level_ts >= load_batch.level_ts;

DELETE FROM "users" USING load_batch n WHERE "users".user_id = n.user_id;

INSERT INTO "users" (user_id, first_name, last_name, gender, level, level_ts) SELECT * FROM load_batch;
