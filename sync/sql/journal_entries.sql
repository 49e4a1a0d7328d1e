-- Journal entries still to restore, oldest first, locked until restored.
SELECT id, run_id, kind, table_schema, table_name, object_name, definition,
       coalesce(validate, false) AS validate, trigger_enabled
  FROM _freshet.journal
 ORDER BY id
   FOR UPDATE;
