-- Relations outside the system schemas (tables, partitioned tables, foreign
-- tables, views, materialized views) with what both catalog readers need:
-- kind, partition parent and bound, row-level security, extension ownership.
-- $1 (boolean): also sizes and leaf partition constraints, which the sync
-- plans with; $2 (boolean): also partition keys and view definitions, which
-- drift checks compare. Each costs a call per relation, so only the reader
-- that uses it asks.
SELECT c.oid::bigint AS oid,
       n.nspname AS schema_name,
       c.relname AS relation_name,
       c.relkind::text AS relkind,
       i.inhparent::bigint AS partition_parent,
       i.inhparent::pg_catalog.regclass::text AS partition_of,
       CASE WHEN c.relispartition
            THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) ELSE '' END AS partition_bound,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                  AND d.objid = c.oid AND d.deptype = 'e') AS extension_owned,
       greatest(c.reltuples, 0)::bigint AS estimated_rows,
       pg_catalog.pg_has_role(c.relowner, 'USAGE') AS owned_by_current_user,
       CASE WHEN $1::boolean AND c.relkind IN ('r', 'p')
            THEN pg_catalog.pg_table_size(c.oid) END AS bytes,
       CASE WHEN $1::boolean AND c.relkind IN ('r', 'p')
            THEN pg_catalog.pg_relation_size(c.oid) END AS heap_bytes,
       CASE WHEN $1::boolean AND c.relispartition AND c.relkind = 'r'
            THEN pg_catalog.pg_get_partition_constraintdef(c.oid) END AS partition_constraint,
       CASE WHEN $2::boolean AND c.relkind = 'p'
            THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN $2::boolean AND c.relkind IN ('v', 'm')
            THEN pg_catalog.pg_get_viewdef(c.oid) END AS view_definition
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
 WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp%'
 ORDER BY n.nspname, c.relname;
