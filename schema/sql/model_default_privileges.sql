-- Default privileges (ALTER DEFAULT PRIVILEGES), one row per grantee and
-- privilege. An entry for all schemas holds the whole ACL that replaces the
-- built-in defaults, its role's own rights included: those are left out, as
-- for grants, and an entry left with nothing (REVOKE EXECUTE ON FUNCTIONS
-- FROM PUBLIC) is one row with a NULL grantee. schema_name is NULL for all
-- schemas; entries in a schema the model leaves out are left out.
-- for_role is NULL for the defaults of the role reading the model (on the
-- shadow, the one the migrations ran as), so that two databases whose
-- migrations ran as different roles still compare.
-- table_privileges: as in model_grants.sql, for defaults on tables.
SELECT CASE WHEN d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
            THEN NULL ELSE pg_catalog.quote_ident(r.rolname::text) END AS for_role,
       n.nspname AS schema_name,
       CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                            WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types'
                            WHEN 'n' THEN 'schemas' ELSE d.defaclobjtype::text END AS object_type,
       CASE WHEN x.grantee = 0 THEN 'PUBLIC'
            ELSE pg_catalog.quote_ident(g.rolname::text) END AS grantee,
       x.privilege_type AS privilege,
       x.is_grantable AS grantable,
       d.defaclobjtype = 'r' AS table_privileges
  FROM pg_catalog.pg_default_acl d
  JOIN pg_catalog.pg_roles r ON r.oid = d.defaclrole
  LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
  LEFT JOIN LATERAL (SELECT e.grantee, e.privilege_type, e.is_grantable
                       FROM pg_catalog.aclexplode(d.defaclacl) e
                      WHERE e.grantee <> d.defaclrole) x ON true
  LEFT JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
 WHERE (d.defaclnamespace = 0
        OR (n.nspname NOT IN ('pg_catalog', 'information_schema', '_freshet', 'supabase_migrations')
            AND n.nspname NOT LIKE 'pg\_toast%'
            AND n.nspname NOT LIKE 'pg\_temp%'))
 ORDER BY 1 NULLS FIRST, 2 NULLS FIRST, 3, 4 NULLS FIRST, 5;
