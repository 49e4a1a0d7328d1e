-- Sequences owned by a column: serial/bigserial (deptype 'a') and identity
-- columns (deptype 'i').
SELECT d.refobjid::bigint AS oid,
       a.attname AS column_name,
       sn.nspname AS sequence_schema,
       s.relname AS sequence_name
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.deptype IN ('a', 'i')
 ORDER BY d.refobjid, a.attnum;
