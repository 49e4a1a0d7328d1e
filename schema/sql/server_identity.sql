-- Which database this is, and whether the role may read pg_control_system()
-- (for the system identifier that tells two servers apart).
SELECT current_database() AS database,
       current_setting('server_version_num')::int AS server_version,
       pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
         AS can_read_control;
