-- Tables, partitioned tables, foreign tables, views and materialized views
-- outside the skipped schemas, not owned by an extension, with RLS flags,
-- partitioning and view definitions.
SELECT n.nspname AS schema_name,
       c.relname AS relation_name,
       c.relkind::text AS relkind,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       CASE WHEN c.relispartition THEN
         (SELECT i.inhparent::pg_catalog.regclass::text FROM pg_catalog.pg_inherits i
           WHERE i.inhrelid = c.oid) END AS partition_of,
       CASE WHEN c.relispartition
            THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS definition
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_freshet', 'supabase_migrations')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, 2;
