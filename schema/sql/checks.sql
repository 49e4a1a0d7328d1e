-- CHECK constraints of tables (inherited copies included: each relation
-- lists what its rows must meet), as expressions over the table's columns.
SELECT con.conrelid::bigint AS oid,
       con.conname AS name,
       pg_catalog.pg_get_expr(con.conbin, con.conrelid) AS expression,
       con.convalidated AS validated
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
 WHERE con.contype = 'c' AND c.relkind IN ('r', 'p')
 ORDER BY con.conrelid, con.conname;
