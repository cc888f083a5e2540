SELECT count(*)::bigint AS n FROM songplays
          WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond';
-- values: [1542286800000,1542290400000]

SELECT count(*)::bigint AS n FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong';

SELECT count(DISTINCT lpad(to_hex(e.ts), 12, '0') || left(md5(coalesce(e.userId, '') || '|' || e.sessionId || '|' || e.itemInSession || '|' || e.ts), 20))::bigint AS n FROM "staging_events_20181115t1300_1h" e WHERE e.page = 'NextSong';

SELECT count(*)::bigint AS n FROM "songplays" WHERE songplay_id IS NULL;

SELECT (count(songplay_id) - count(DISTINCT songplay_id))::bigint AS n FROM "songplays" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond';
-- values: [1542286800000,1542290400000]

SELECT count(*)::bigint AS n FROM "users" WHERE user_id IS NULL;

SELECT (count(user_id) - count(DISTINCT user_id))::bigint AS n FROM "users";

SELECT count(*)::bigint AS n FROM "songs" WHERE song_id IS NULL;

SELECT (count(song_id) - count(DISTINCT song_id))::bigint AS n FROM "songs";

SELECT count(*)::bigint AS n FROM "artists" WHERE artist_id IS NULL;

SELECT (count(artist_id) - count(DISTINCT artist_id))::bigint AS n FROM "artists";

SELECT count(*)::bigint AS n FROM "time" WHERE start_time IS NULL;

SELECT (count(start_time) - count(DISTINCT start_time))::bigint AS n FROM "time" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond';
-- values: [1542286800000,1542290400000]

SELECT count(*)::bigint AS n FROM "public"."staging_events";

SELECT (SELECT count(*)::bigint AS n FROM songplays
          WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond') AS n0,
       (SELECT count(*)::bigint AS n FROM "staging_events_20181115t1300_1h" WHERE page = 'NextSong') AS n1,
       (SELECT count(*)::bigint AS n FROM "songplays" WHERE songplay_id IS NULL) AS n2,
       (SELECT (count(songplay_id) - count(DISTINCT songplay_id))::bigint AS n FROM "songplays" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond') AS n3,
       (SELECT count(*)::bigint AS n FROM "users" WHERE user_id IS NULL) AS n4,
       (SELECT (count(user_id) - count(DISTINCT user_id))::bigint AS n FROM "users") AS n5,
       (SELECT count(*)::bigint AS n FROM "songs" WHERE song_id IS NULL) AS n6,
       (SELECT (count(song_id) - count(DISTINCT song_id))::bigint AS n FROM "songs") AS n7,
       (SELECT count(*)::bigint AS n FROM "artists" WHERE artist_id IS NULL) AS n8,
       (SELECT (count(artist_id) - count(DISTINCT artist_id))::bigint AS n FROM "artists") AS n9,
       (SELECT count(*)::bigint AS n FROM "time" WHERE start_time IS NULL) AS n10,
       (SELECT (count(start_time) - count(DISTINCT start_time))::bigint AS n FROM "time" WHERE start_time >= timestamp 'epoch' + $1::bigint * interval '1 millisecond' AND start_time < timestamp 'epoch' + $2::bigint * interval '1 millisecond') AS n11;
-- values: [1542286800000,1542290400000]
