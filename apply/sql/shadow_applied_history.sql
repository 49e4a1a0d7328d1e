-- Whether the history tables of freshet and of the Supabase CLI exist and
-- hold rows: a --shadow-url database where migrations were applied already
-- is refused even though those tables live in platform schemas.
-- query_to_xml runs the count only for a table that exists.
SELECT t.name,
       CASE WHEN pg_catalog.to_regclass(t.name) IS NULL THEN 0
            ELSE (pg_catalog.xpath('/row/n/text()',
                    pg_catalog.query_to_xml('SELECT pg_catalog.count(*) AS n FROM ' || t.name,
                                            false, true, '')))[1]::text::bigint
       END AS applied
  FROM (VALUES ('supabase_migrations.schema_migrations'), ('_freshet.migration_log')) AS t (name)
 ORDER BY 1;
