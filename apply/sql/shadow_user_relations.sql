-- Every relation (table, view, sequence, ...) outside the system schemas and
-- not owned by an extension, by schema and name: a database given as
-- --shadow-url must have none outside the platform schemas (freshet filters
-- those with IsPlatformSchema, schema/patterns.h), since the shadow must
-- start from scratch.
SELECT n.nspname AS schema_name,
       c.relname AS relation_name,
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 3;
