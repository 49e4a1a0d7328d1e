-- Relations that hold or show rows but are not tables freshet loads: views,
-- materialized views and foreign tables, so a table on one side and one of
-- these of the same name on the other is named for what it is.
SELECT n.nspname AS schema_name, c.relname AS relation_name, c.relkind::text AS relkind
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
 ORDER BY 1, 2;
