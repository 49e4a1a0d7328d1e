-- Which database this is, whether the role may read pg_control_system()
-- (for the system identifier that tells two servers apart), and whether
-- row-level security can apply to the role at all.
SELECT current_database() AS database,
       current_setting('server_version_num')::int AS server_version,
       pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
         AS can_read_control,
       (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r
         WHERE r.rolname = current_user) AS bypasses_row_security;
