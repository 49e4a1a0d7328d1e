-- $1: source system identifier, $2: source database.
SELECT table_schema, table_name, mode, coalesce(watermark_column, ''), watermark_reached,
       xmin_horizon::text, schema_fingerprint,
       coalesce(to_char(last_full_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '')
FROM _freshet.sync_state
WHERE source_system_id = $1::numeric AND source_database = $2
