-- songplay_id becomes time-ordered: 12 hex digits of the event time in ms, then the first 20 of the md5
-- of the event's identity that was the whole key before (see statements.songplayKey). With the table's
-- SORTKEY (start_time) it changes nothing for Redshift's storage, but keeps one key for both dialects.
-- Rewrites the keys already loaded, so re-running an old hour in append mode finds them; keys already in
-- the new form (their first 12 digits are their time) are left alone.
UPDATE songplays
   SET songplay_id = lpad(to_hex(datediff(ms, timestamp 'epoch', start_time)), 12, '0') || left(songplay_id, 20)
 WHERE left(songplay_id, 12) <> lpad(to_hex(datediff(ms, timestamp 'epoch', start_time)), 12, '0');
