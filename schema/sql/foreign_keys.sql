-- Foreign keys as declared (conparentid = 0 leaves out the clones PostgreSQL
-- makes on partitions and for referenced partitions).
SELECT con.conname AS name,
       cn.nspname AS table_schema, cc.relname AS table_name,
       rn.nspname AS referenced_schema, rc.relname AS referenced_table,
       ARRAY(SELECT a.attname
               FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_catalog.pg_attribute a
                 ON a.attrelid = con.conrelid AND a.attnum = k.attnum
              ORDER BY k.ord) AS columns,
       NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
                      AND a.attnotnull) AS columns_nullable,
       con.condeferrable AS deferrable,
       con.convalidated AS validated,
       pg_catalog.pg_get_constraintdef(con.oid) AS definition,
       ARRAY(SELECT a.attname
               FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_catalog.pg_attribute a
                 ON a.attrelid = con.confrelid AND a.attnum = k.attnum
              ORDER BY k.ord) AS referenced_columns,
       con.confmatchtype = 'f' AS match_full
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class cc ON cc.oid = con.conrelid
  JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace
  JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
  JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
 WHERE con.contype = 'f' AND con.conparentid = 0
 ORDER BY cn.nspname, cc.relname, con.conname;
