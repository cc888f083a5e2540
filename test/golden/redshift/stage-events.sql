DROP TABLE IF EXISTS "staging_events_20181115t1300_1h"; CREATE TABLE "staging_events_20181115t1300_1h" (LIKE staging_events);

DROP TABLE IF EXISTS raw_events; CREATE TEMP TABLE raw_events (LIKE staging_events);

INSERT INTO "staging_events_20181115t1300_1h" SELECT * FROM raw_events WHERE ts >= $1::bigint AND ts < $2::bigint;
-- values: [1542286800000,1542290400000]

SELECT count(*)::bigint AS n FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong';
