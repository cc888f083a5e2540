-- songplay_id becomes time-ordered: 12 hex digits of the event time in ms, then the first 20 of the md5
-- of the event's identity that was the whole key before (see statements.songplayKey). The fact table's
-- primary key then grows at its right edge as hours are loaded, instead of taking random inserts.
-- Rewrites the keys already loaded, so re-running an old hour in append mode finds them; keys already in
-- the new form (their first 12 digits are their time) are left alone.
UPDATE songplays
   SET songplay_id = lpad(to_hex((extract(epoch FROM start_time) * 1000)::bigint), 12, '0') || left(songplay_id, 20)
 WHERE left(songplay_id, 12) <> lpad(to_hex((extract(epoch FROM start_time) * 1000)::bigint), 12, '0');
