-- name: songplays_have_known_users
-- expected: 0
-- op: =
-- description: songplays of the interval whose user is missing from users (a dimension load that lost rows)
SELECT count(*)
  FROM songplays p
 WHERE p.start_time >= $1
   AND p.start_time < $2
   AND p.user_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = p.user_id)
