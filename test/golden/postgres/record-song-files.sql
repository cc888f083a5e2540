INSERT INTO staged_song_files (path, size, version, songs, rejected)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::boolean[])
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, version = excluded.version, songs = excluded.songs,
           rejected = excluded.rejected, staged_at = now() AT TIME ZONE 'UTC';
-- values: [["song_data/A/B/C/TRABC.json","song_data/A/B/D/TRABD.json"],[120,130],["\"e1\"","\"e2\""],[1,1],[false,false]]
