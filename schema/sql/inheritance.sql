-- Plain (non-partition) inheritance: child INHERITS parent.
SELECT i.inhrelid::bigint AS child, i.inhparent::bigint AS parent
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
 WHERE NOT c.relispartition
 ORDER BY i.inhrelid, i.inhseqno;
