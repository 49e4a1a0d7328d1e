-- $1 system id, $2 database, $3 schema, $4 table, $5 mode, $6 watermark
-- column, $7 watermark reached, $8 xmin horizon, $9 snapshot, $10
-- fingerprint, $11 full this run, $12 run id, $13 key sums (NULL: none).
INSERT INTO _freshet.sync_state AS s
  (source_system_id, source_database, table_schema, table_name, mode, watermark_column,
   watermark_reached, xmin_horizon, source_snapshot, schema_fingerprint, last_full_at,
   last_run_at, run_id, key_sums)
VALUES ($1::numeric, $2, $3, $4, $5, nullif($6, ''), $7, $8::xid8, $9::pg_snapshot, $10,
        CASE WHEN $11::boolean THEN now() END, now(), $12, $13::bytea)
ON CONFLICT (source_system_id, source_database, table_schema, table_name) DO UPDATE SET
  mode = EXCLUDED.mode, watermark_column = EXCLUDED.watermark_column,
  watermark_reached = EXCLUDED.watermark_reached, xmin_horizon = EXCLUDED.xmin_horizon,
  source_snapshot = EXCLUDED.source_snapshot, schema_fingerprint = EXCLUDED.schema_fingerprint,
  last_full_at = coalesce(EXCLUDED.last_full_at, s.last_full_at),
  last_run_at = EXCLUDED.last_run_at, run_id = EXCLUDED.run_id, key_sums = EXCLUDED.key_sums
