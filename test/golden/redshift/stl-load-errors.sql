SELECT trim(filename) AS file, line_number AS line, trim(colname) AS field, trim(err_reason) AS reason,
                trim(raw_line) AS raw
           FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY trim(filename), line_number
          LIMIT 1000 OFFSET 0;

SELECT trim(filename) AS file, line_number AS line, trim(colname) AS field, trim(err_reason) AS reason,
                trim(raw_line) AS raw
           FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY trim(filename), line_number
          LIMIT 1000 OFFSET 1000;
