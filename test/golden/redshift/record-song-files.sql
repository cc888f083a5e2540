DELETE FROM staged_song_files WHERE path IN ($1::varchar, $2::varchar);
-- values: ["song_data/A/B/C/TRABC.json","song_data/A/B/D/TRABD.json"]

INSERT INTO staged_song_files (path, size, version, songs, rejected)
             VALUES ($1::varchar, $2::bigint, $3::varchar, $4::int, $5::boolean), ($6::varchar, $7::bigint, $8::varchar, $9::int, $10::boolean);
-- values: ["song_data/A/B/C/TRABC.json",120,"\"e1\"",1,false,"song_data/A/B/D/TRABD.json",130,"\"e2\"",1,false]
