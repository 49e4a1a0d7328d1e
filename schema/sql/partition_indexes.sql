-- For every index of a partitioned table (relkind 'I'), the index of each leaf
-- partition that is attached under it, with the constraint it backs.
SELECT pn.nspname AS root_schema, pt.relname AS root_table, pi.relname AS root_index,
       ln.nspname AS leaf_schema, lt.relname AS leaf_table, li.relname AS leaf_index,
       pg_catalog.pg_get_indexdef(li.oid) AS definition,
       con.conname AS constraint_name,
       CASE WHEN con.oid IS NOT NULL THEN pg_catalog.pg_get_constraintdef(con.oid) END
         AS constraint_definition
  FROM pg_catalog.pg_class pi
  JOIN pg_catalog.pg_index px ON px.indexrelid = pi.oid
  JOIN pg_catalog.pg_class pt ON pt.oid = px.indrelid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = pt.relnamespace
  CROSS JOIN LATERAL pg_catalog.pg_partition_tree(pi.oid) tree
  JOIN pg_catalog.pg_class li ON li.oid = tree.relid
  JOIN pg_catalog.pg_index lx ON lx.indexrelid = li.oid
  JOIN pg_catalog.pg_class lt ON lt.oid = lx.indrelid
  JOIN pg_catalog.pg_namespace ln ON ln.oid = lt.relnamespace
  LEFT JOIN pg_catalog.pg_constraint con
    ON con.conindid = li.oid AND con.conrelid = lt.oid AND con.contype IN ('p', 'u', 'x')
 WHERE pi.relkind = 'I'
   AND tree.isleaf
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = pi.oid)
   AND pn.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY pn.nspname, pt.relname, pi.relname, ln.nspname, lt.relname;
