-- The sequences a column's values come from: owned by it (serial/bigserial,
-- deptype 'a'; identity, deptype 'i') or named by its default
-- (DEFAULT nextval('some_seq'): the default depends on the sequence, 'n'),
-- which may be shared by several columns and tables.
SELECT oid, column_name, sequence_schema, sequence_name
  FROM (SELECT d.refobjid::bigint AS oid, a.attnum, a.attname AS column_name,
               sn.nspname AS sequence_schema, s.relname AS sequence_name
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
          JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.deptype IN ('a', 'i')
        UNION
        SELECT ad.adrelid::bigint, a.attnum, a.attname, sn.nspname, s.relname
          FROM pg_catalog.pg_attrdef ad
          JOIN pg_catalog.pg_depend d
            ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid = ad.oid
           AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'n'
          JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
          JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum) u
 ORDER BY oid, attnum, sequence_schema, sequence_name;
