-- Indexes of ordinary and partitioned tables, with the constraint they back
-- (primary key, unique, exclusion) if any. Indexes attached to a parent
-- partitioned index are left out: they follow their parent.
SELECT n.nspname AS table_schema, c.relname AS table_name,
       i.relname AS index_name,
       -- An index on a partitioned table reads "ON ONLY t", which would
       -- recreate it without its partitions' indexes: replay it without ONLY.
       pg_catalog.replace(pg_catalog.pg_get_indexdef(x.indexrelid),
         ' ON ONLY ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || ' USING ',
         ' ON ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || ' USING ')
         AS definition,
       con.conname AS constraint_name,
       con.contype::text AS constraint_type,
       CASE WHEN con.oid IS NOT NULL THEN pg_catalog.pg_get_constraintdef(con.oid) END
         AS constraint_definition,
       x.indisreplident AS replica_identity,
       x.indisclustered AS clustered,
       x.indisvalid AS valid,
       pg_catalog.pg_relation_size(x.indexrelid) AS bytes,
       x.indisunique AS is_unique,
       ARRAY(SELECT pg_catalog.pg_get_indexdef(x.indexrelid, k, true)
               FROM pg_catalog.generate_series(1, x.indnkeyatts) k ORDER BY k) AS keys,
       pg_catalog.pg_get_expr(x.indpred, x.indrelid) AS predicate,
       -- indnullsnotdistinct is PostgreSQL 15+: read it where it exists.
       coalesce((pg_catalog.to_jsonb(x) ->> 'indnullsnotdistinct')::boolean, false)
         AS nulls_not_distinct
  FROM pg_catalog.pg_index x
  JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
  JOIN pg_catalog.pg_class c ON c.oid = x.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_constraint con
    ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid AND con.contype IN ('p', 'u', 'x')
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = x.indexrelid)
 ORDER BY n.nspname, c.relname, i.relname;
