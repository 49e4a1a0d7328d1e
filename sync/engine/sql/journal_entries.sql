-- Journal entries still to restore, oldest first.
SELECT id, run_id, kind, table_schema, table_name, object_name, definition,
       coalesce(validate, false) AS validate, trigger_enabled,
       constraint_name, constraint_definition, coalesce(clustered, false) AS clustered,
       coalesce(bytes, 0) AS bytes, referenced_schema, referenced_name,
       partition_indexes::text AS partition_indexes
  FROM _freshet.journal
 ORDER BY id;
