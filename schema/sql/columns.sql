-- Live columns of tables, partitioned tables and foreign tables (partitions
-- included). Defaults and generation expressions come from pg_get_expr;
-- collation only when it is not the type's. With $1 (boolean), which the
-- sync asks for and drift checks do not (it costs a lookup per column),
-- binary_portable says whether binary COPY of the type means the same on any
-- server: built-in types (after resolving domains) and enums are;
-- composites, arrays of user types and extension types embed server-local
-- OIDs or versions, so they go as text.
WITH RECURSIVE resolved(type_oid, base_oid, depth) AS (
  SELECT t.oid, t.oid, 0 FROM pg_catalog.pg_type t
   WHERE t.oid IN (SELECT DISTINCT atttypid FROM pg_catalog.pg_attribute WHERE attnum > 0)
  UNION ALL
  SELECT r.type_oid, t.typbasetype, r.depth + 1
    FROM resolved r JOIN pg_catalog.pg_type t ON t.oid = r.base_oid
   WHERE t.typtype = 'd' AND r.depth < 32
)
SELECT a.attrelid::bigint AS oid,
       a.attname AS column_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name,
       a.attnotnull AS not_null,
       CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END
         AS default_expr,
       a.attgenerated <> '' AS generated,
       a.attidentity::text AS identity,
       CASE WHEN $1::boolean THEN
         (SELECT CASE WHEN bt.typtype = 'e' THEN true
                      WHEN bt.oid >= 16384 THEN false
                      WHEN bt.typtype IN ('c', 'p') THEN false
                      ELSE true END
            FROM resolved r JOIN pg_catalog.pg_type bt ON bt.oid = r.base_oid
           WHERE r.type_oid = a.atttypid
           ORDER BY r.depth DESC LIMIT 1) END AS binary_portable,
       pg_catalog.format_type(a.atttypid, NULL) AS type_id,
       CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END
         AS generated_expr,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
 WHERE c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp%'
 ORDER BY a.attrelid, a.attnum;
