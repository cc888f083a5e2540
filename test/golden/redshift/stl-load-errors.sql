SELECT trim(filename) AS file, line_number AS line, trim(colname) AS field, trim(err_reason) AS reason,
                trim(raw_line) AS raw
           FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number LIMIT 100;
