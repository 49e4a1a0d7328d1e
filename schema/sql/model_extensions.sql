-- Installed extensions and the schema each lives in (versions are left out:
-- they follow the server's packages, not the migrations).
SELECT e.extname AS extension_name, n.nspname AS schema_name
  FROM pg_catalog.pg_extension e
  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
 ORDER BY 1;
