-- Privileges granted on the objects the drift model covers (same filters as
-- model_*.sql), one row per grantee and privilege: relations (tables,
-- partitioned and foreign tables, views, materialized views, and sequences
-- not behind an identity column), columns, functions and procedures, and
-- schemas. A NULL ACL means the built-in defaults, as acldefault gives them
-- (PUBLIC may EXECUTE a function). Grants to the object's owner are left out:
-- they are its owner's default rights, and owners differ by design between a
-- shadow and a real database. The grantor is left out too.
-- object_kind: relation, column, function or schema; object_name: relname,
-- proname or nspname; detail: the column name or the function's identity
-- arguments. table_privileges: whether the object has a table's privileges
-- (tables, views, ...: not sequences), which the model folds into ALL.
WITH modelled_schemas AS (
  SELECT n.oid, n.nspname, n.nspowner, n.nspacl
    FROM pg_catalog.pg_namespace n
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', '_freshet', 'supabase_migrations')
     AND n.nspname NOT LIKE 'pg\_toast%'
     AND n.nspname NOT LIKE 'pg\_temp%'
),
relations AS (
  SELECT c.oid, c.relkind, c.relname, c.relowner, c.relacl, n.nspname
    FROM pg_catalog.pg_class c
    JOIN modelled_schemas n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND d.objid = c.oid
                        AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype = 'i')))
),
acls AS (
  SELECT 'relation' AS object_kind, r.nspname AS schema_name, r.relname AS object_name,
         NULL::text AS detail, r.relowner AS owner,
         pg_catalog.aclexplode(COALESCE(r.relacl, pg_catalog.acldefault(
           CASE WHEN r.relkind = 'S' THEN 's' ELSE 'r' END::"char", r.relowner))) AS item,
         r.relkind <> 'S' AS table_privileges
    FROM relations r
  UNION ALL
  SELECT 'column', r.nspname, r.relname, a.attname::text, r.relowner,
         pg_catalog.aclexplode(a.attacl), false
    FROM relations r
    JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
   WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
  UNION ALL
  SELECT 'function', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
         p.proowner, pg_catalog.aclexplode(COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner))),
         false
    FROM pg_catalog.pg_proc p
    JOIN modelled_schemas n ON n.oid = p.pronamespace
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                        AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 'schema', n.nspname, n.nspname, NULL, n.nspowner,
         pg_catalog.aclexplode(COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner))), false
    FROM modelled_schemas n
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                        AND d.objid = n.oid AND d.deptype = 'e')
)
SELECT x.object_kind,
       x.schema_name,
       x.object_name,
       x.detail,
       CASE WHEN (x.item).grantee = 0 THEN 'PUBLIC'
            ELSE pg_catalog.quote_ident(g.rolname::text) END AS grantee,
       (x.item).privilege_type AS privilege,
       (x.item).is_grantable AS grantable,
       x.table_privileges
  FROM acls x
  LEFT JOIN pg_catalog.pg_roles g ON g.oid = (x.item).grantee
 WHERE (x.item).grantee <> x.owner
 ORDER BY 1, 2, 3, 4, 5, 6;
