-- The source index digests each event file's lines by hour under the encoder's rule of what a line is, and that
-- rule changed (2026-11-26): a byte-order mark at the start of a file is not part of its first line (it made
-- that line a bad one), and a line is blank only when it holds JSON whitespace alone (a line of U+00A0, \f or
-- U+FEFF was dropped as blank without a word; it is a bad line). Every indexed file is read again at the next
-- refresh, once, so that its hours' digests and ranges follow the rule: an hour whose lines read differently
-- now is stale and the late-data watcher re-runs it; every other hour's digest comes out the same.
UPDATE source_files SET version = version || ' (indexed under the line rule before 012)';
