-- Schemas of the shadow/drift model: everything but the system schemas,
-- freshet's and the Supabase CLI's history schemas, and extension schemas.
SELECT n.nspname AS schema_name
  FROM pg_catalog.pg_namespace n
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', '_freshet', 'supabase_migrations')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                      AND d.objid = n.oid AND d.deptype = 'e')
 ORDER BY 1;
