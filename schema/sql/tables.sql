-- Ordinary and partitioned tables outside the system schemas, with the
-- partition parent (for partitions), size estimates, row-level security and,
-- for leaf partitions, the constraint a row must meet to belong there.
SELECT c.oid::bigint AS oid,
       n.nspname AS schema_name,
       c.relname AS table_name,
       c.relkind::text AS relkind,
       (SELECT i.inhparent::bigint FROM pg_catalog.pg_inherits i
         WHERE i.inhrelid = c.oid AND c.relispartition) AS partition_parent,
       CASE WHEN c.relispartition
            THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) ELSE '' END AS partition_bound,
       greatest(c.reltuples, 0)::bigint AS estimated_rows,
       pg_catalog.pg_table_size(c.oid) AS bytes,
       pg_catalog.pg_relation_size(c.oid) AS heap_bytes,
       pg_catalog.pg_has_role(c.relowner, 'USAGE') AS owned_by_current_user,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       CASE WHEN c.relispartition AND c.relkind = 'r'
            THEN pg_catalog.pg_get_partition_constraintdef(c.oid) END AS partition_constraint
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp%'
 ORDER BY n.nspname, c.relname;
