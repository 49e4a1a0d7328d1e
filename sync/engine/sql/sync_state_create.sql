-- What incremental runs recorded on the target, per source database and
-- table: written in the same transaction as the rows it accounts for.
SET client_min_messages = warning;  -- no NOTICE for what already exists
CREATE SCHEMA IF NOT EXISTS _freshet;
CREATE TABLE IF NOT EXISTS _freshet.sync_state (
  source_system_id numeric NOT NULL,   -- pg_control_system(): the source cluster
  source_database text NOT NULL,
  table_schema text NOT NULL,
  table_name text NOT NULL,
  mode text NOT NULL CHECK (mode IN ('watermark', 'diff', 'full')),
  watermark_column text,
  watermark_reached text,              -- the column's text form; NULL: none
  xmin_horizon xid8 NOT NULL,          -- the source snapshot's xmin at that run
  source_snapshot pg_snapshot NOT NULL,
  schema_fingerprint text NOT NULL,
  last_full_at timestamptz,
  last_run_at timestamptz NOT NULL,
  run_id text NOT NULL,
  key_sums bytea,                      -- the source's key summary at that run (bucket_sums.h)
  PRIMARY KEY (source_system_id, source_database, table_schema, table_name)
);
RESET client_min_messages;
