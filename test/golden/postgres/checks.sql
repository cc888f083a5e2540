SELECT count(*)::bigint AS n FROM songplays
          WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond';
-- values: [1542286800000,1542290400000]

SELECT count(*)::bigint AS n FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong';

SELECT count(DISTINCT lpad(to_hex(e.ts), 12, '0') || left(md5(coalesce(e.userId, '') || '|' || e.sessionId || '|' || e.itemInSession || '|' || e.ts), 20))::bigint AS n FROM "staging_events_20181115t1300_1h" e WHERE e.page = 'NextSong';

SELECT count(*)::bigint AS n FROM "songplays" WHERE songplay_id IS NULL;

SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"songplays"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'songplay_id')
           THEN 0::bigint ELSE (SELECT (count(songplay_id) - count(DISTINCT songplay_id))::bigint AS n FROM "songplays" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond') END AS n;
-- values: [1542286800000,1542290400000]

SELECT count(*)::bigint AS n FROM "users" WHERE user_id IS NULL;

SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"users"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'user_id')
           THEN 0::bigint ELSE (SELECT (count(user_id) - count(DISTINCT user_id))::bigint AS n FROM "users") END AS n;

SELECT count(*)::bigint AS n FROM "songs" WHERE song_id IS NULL;

SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"songs"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'song_id')
           THEN 0::bigint ELSE (SELECT (count(song_id) - count(DISTINCT song_id))::bigint AS n FROM "songs") END AS n;

SELECT count(*)::bigint AS n FROM "artists" WHERE artist_id IS NULL;

SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"artists"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'artist_id')
           THEN 0::bigint ELSE (SELECT (count(artist_id) - count(DISTINCT artist_id))::bigint AS n FROM "artists") END AS n;

SELECT count(*)::bigint AS n FROM "time" WHERE start_time IS NULL;

SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"time"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'start_time')
           THEN 0::bigint ELSE (SELECT (count(start_time) - count(DISTINCT start_time))::bigint AS n FROM "time" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond') END AS n;
-- values: [1542286800000,1542290400000]

SELECT count(*)::bigint AS n FROM "public"."staging_events";

SELECT (SELECT count(*)::bigint AS n FROM songplays
          WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond') AS n0,
       (SELECT count(*)::bigint AS n FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong') AS n1,
       (SELECT count(*)::bigint AS n FROM "songplays" WHERE songplay_id IS NULL) AS n2,
       (SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"songplays"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'songplay_id')
           THEN 0::bigint ELSE (SELECT (count(songplay_id) - count(DISTINCT songplay_id))::bigint AS n FROM "songplays" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond') END AS n) AS n3,
       (SELECT count(*)::bigint AS n FROM "users" WHERE user_id IS NULL) AS n4,
       (SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"users"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'user_id')
           THEN 0::bigint ELSE (SELECT (count(user_id) - count(DISTINCT user_id))::bigint AS n FROM "users") END AS n) AS n5,
       (SELECT count(*)::bigint AS n FROM "songs" WHERE song_id IS NULL) AS n6,
       (SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"songs"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'song_id')
           THEN 0::bigint ELSE (SELECT (count(song_id) - count(DISTINCT song_id))::bigint AS n FROM "songs") END AS n) AS n7,
       (SELECT count(*)::bigint AS n FROM "artists" WHERE artist_id IS NULL) AS n8,
       (SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"artists"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'artist_id')
           THEN 0::bigint ELSE (SELECT (count(artist_id) - count(DISTINCT artist_id))::bigint AS n FROM "artists") END AS n) AS n9,
       (SELECT count(*)::bigint AS n FROM "time" WHERE start_time IS NULL) AS n10,
       (SELECT CASE WHEN EXISTS (
             SELECT 1 FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.conrelid = to_regclass('"time"') AND c.contype IN ('p', 'u')
                AND c.convalidated AND cardinality(c.conkey) = 1 AND a.attname = 'start_time')
           THEN 0::bigint ELSE (SELECT (count(start_time) - count(DISTINCT start_time))::bigint AS n FROM "time" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond') END AS n) AS n11;
-- values: [1542286800000,1542290400000]
