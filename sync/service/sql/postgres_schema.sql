-- The service's history in a shared PostgreSQL store (sync/service/
-- postgres_run_store.h), in schema freshet_service. Version 1. Times are
-- ISO 8601 UTC text, as in the SQLite store.
CREATE SCHEMA IF NOT EXISTS freshet_service;
CREATE TABLE IF NOT EXISTS freshet_service.meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO freshet_service.meta VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
CREATE TABLE IF NOT EXISTS freshet_service.runs (
  id               bigserial PRIMARY KEY,
  job              text NOT NULL,
  kind             text NOT NULL,
  state            text NOT NULL,
  trigger          text NOT NULL,
  requested_by     text NOT NULL DEFAULT '',
  overrides        text NOT NULL DEFAULT '{}',
  targets          text NOT NULL DEFAULT '[]',
  created_at       text NOT NULL,
  started_at       text NOT NULL DEFAULT '',
  finished_at      text NOT NULL DEFAULT '',
  exit_status      integer,
  error            text NOT NULL DEFAULT '',
  report           text,
  report_markdown  text NOT NULL DEFAULT '',
  rows_moved       bigint NOT NULL DEFAULT 0,
  bytes_moved      bigint NOT NULL DEFAULT 0,
  -- the cron time of a scheduled run: one run per job and time
  scheduled_for    text,
  -- the replica that claimed it, whether a cancel was asked for, and its
  -- live progress as that replica last published it
  claimed_by       text NOT NULL DEFAULT '',
  cancel_requested boolean NOT NULL DEFAULT false,
  live             text
);
CREATE INDEX IF NOT EXISTS runs_job ON freshet_service.runs (job, id);
CREATE INDEX IF NOT EXISTS runs_unfinished ON freshet_service.runs (id)
  WHERE state IN ('queued', 'running');
CREATE UNIQUE INDEX IF NOT EXISTS runs_scheduled ON freshet_service.runs (job, scheduled_for)
  WHERE scheduled_for IS NOT NULL;
CREATE TABLE IF NOT EXISTS freshet_service.run_log (
  run_id   bigint NOT NULL REFERENCES freshet_service.runs (id) ON DELETE CASCADE,
  seq      bigserial,
  at       text NOT NULL,
  level    text NOT NULL,
  message  text NOT NULL,
  PRIMARY KEY (run_id, seq)
);
