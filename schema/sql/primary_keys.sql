-- Primary key columns in key order.
SELECT con.conrelid::bigint AS oid,
       ARRAY(SELECT a.attname
               FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_catalog.pg_attribute a
                 ON a.attrelid = con.conrelid AND a.attnum = k.attnum
              ORDER BY k.ord) AS columns
  FROM pg_catalog.pg_constraint con
 WHERE con.contype = 'p';
