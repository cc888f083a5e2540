CREATE TABLE IF NOT EXISTS etl_migrations (name varchar(256) NOT NULL PRIMARY KEY, applied_at timestamp);

SELECT name FROM etl_migrations;

LOCK etl_migrations;

SELECT 1 FROM etl_migrations WHERE name = $1::varchar;
-- values: ["001_schema.sql"]

INSERT INTO etl_migrations (name, applied_at) VALUES ($1::varchar, $2::timestamp);
-- values: ["001_schema.sql","2018-11-15T13:00:00.000Z"]
