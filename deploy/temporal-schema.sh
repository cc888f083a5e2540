#!/bin/sh
# One-shot of docker-compose.yml (temporal-schema, admin-tools image): creates Temporal's two databases on the
# first start and brings both schemas to the version of the server image. Safe to run again: an existing
# database stays, `setup-schema -v 0.0` leaves an already stamped version alone, and `update-schema` applies
# only the versions not applied yet. temporal-sql-tool reads the password from SQL_PASSWORD.
set -eu
schemas=/etc/temporal/schema/postgresql/v12
sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" --db "$@"
}
for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"
  dir="${pair##*:}"
  # On a second start the database is there; any other failure shows in the next step.
  sql "$db" create || echo "database $db: not created (it exists already, or the next step says why)"
  sql "$db" setup-schema -v 0.0
  sql "$db" update-schema -d "$schemas/$dir/versioned"
done
echo "Temporal schema up to date"
