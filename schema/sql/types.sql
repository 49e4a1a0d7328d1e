-- Every type the columns of user tables use, and every type those are made
-- of (array elements, domain bases, composite attributes, range subtypes), so
-- freshet can tell which values travel safely in binary COPY, which name
-- server-local objects (reg*), and how enums, composites and domains differ
-- between two databases. Types are named by format_type(oid, NULL), read
-- with search_path = pg_catalog, so user types come schema-qualified.
WITH RECURSIVE used(oid) AS (
  SELECT DISTINCT a.atttypid
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg\_toast%'
  UNION
  SELECT part.oid
    FROM used u
    JOIN pg_catalog.pg_type t ON t.oid = u.oid
   CROSS JOIN LATERAL (
     SELECT t.typelem WHERE t.typelem <> 0 AND t.typcategory = 'A'
     UNION ALL
     SELECT t.typbasetype WHERE t.typtype = 'd'
     UNION ALL
     SELECT a.atttypid FROM pg_catalog.pg_attribute a
      WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
     UNION ALL
     SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid
   ) part(oid)
)
SELECT pg_catalog.format_type(t.oid, NULL) AS type_name,
       t.typtype::text AS kind,
       CASE WHEN t.typelem <> 0 AND t.typcategory = 'A'
            THEN pg_catalog.format_type(t.typelem, NULL) END AS element,
       CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END
         AS domain_base,
       CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, NULL) END
         AS domain_base_id,
       (SELECT pg_catalog.format_type(r.rngsubtype, NULL) FROM pg_catalog.pg_range r
         WHERE r.rngtypid = t.oid) AS range_subtype,
       t.oid < 16384 AS built_in,
       t.typsend <> 0 AND t.typreceive <> 0 AS binary_io,
       t.oid IN ('pg_catalog.regclass'::pg_catalog.regtype, 'pg_catalog.regtype'::pg_catalog.regtype,
                 'pg_catalog.regproc'::pg_catalog.regtype, 'pg_catalog.regprocedure'::pg_catalog.regtype,
                 'pg_catalog.regoper'::pg_catalog.regtype, 'pg_catalog.regoperator'::pg_catalog.regtype,
                 'pg_catalog.regrole'::pg_catalog.regtype, 'pg_catalog.regnamespace'::pg_catalog.regtype,
                 'pg_catalog.regconfig'::pg_catalog.regtype, 'pg_catalog.regdictionary'::pg_catalog.regtype,
                 'pg_catalog.regcollation'::pg_catalog.regtype)
         AS names_objects,
       ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
              WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS enum_labels,
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
              WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0
                AND NOT a.attisdropped ORDER BY a.attnum) AS attribute_names,
       ARRAY(SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
              WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0
                AND NOT a.attisdropped ORDER BY a.attnum) AS attribute_types,
       t.typtype = 'd' AND t.typnotnull AS domain_not_null,
       ARRAY(SELECT pg_catalog.pg_get_expr(k.conbin, 0) FROM pg_catalog.pg_constraint k
              WHERE k.contypid = t.oid AND k.contype = 'c' ORDER BY k.conname) AS domain_checks,
       ARRAY(SELECT k.conname::text FROM pg_catalog.pg_constraint k
              WHERE k.contypid = t.oid AND k.contype = 'c' ORDER BY k.conname) AS domain_check_names
  FROM used u
  JOIN pg_catalog.pg_type t ON t.oid = u.oid
 ORDER BY 1;
