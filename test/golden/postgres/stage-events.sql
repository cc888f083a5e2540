DROP TABLE IF EXISTS "staging_events_20181115t1300_1h"; CREATE UNLOGGED TABLE "staging_events_20181115t1300_1h" (LIKE staging_events);

COPY "staging_events_20181115t1300_1h" (artist, auth, firstName, gender, itemInSession, lastName, length, level, location, method, page,
     registration, sessionId, song, status, ts, userAgent, userId) FROM STDIN WITH (FORMAT binary, FREEZE);

SET LOCAL default_statistics_target = 10; ANALYZE "staging_events_20181115t1300_1h";
