DELETE FROM staged_song_files WHERE path IN ($1, $2);
-- values: ["song_data/A/B/C/TRABC.json","song_data/A/B/D/TRABD.json"]

INSERT INTO staged_song_files (path, size, version, songs)
             VALUES ($1::varchar, $2::bigint, $3::varchar, $4::int), ($5::varchar, $6::bigint, $7::varchar, $8::int);
-- values: ["song_data/A/B/C/TRABC.json",120,"\"e1\"",1,"song_data/A/B/D/TRABD.json",130,"\"e2\"",1]
