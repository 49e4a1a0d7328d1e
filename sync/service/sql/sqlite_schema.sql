-- The service's history in its embedded SQLite store (sync/service/run_store.h).
-- user_version 1. Times are ISO 8601 UTC text, which sorts as time.
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS runs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  job           TEXT NOT NULL,
  kind          TEXT NOT NULL,
  state         TEXT NOT NULL,
  trigger       TEXT NOT NULL,
  requested_by  TEXT NOT NULL DEFAULT '',
  overrides     TEXT NOT NULL DEFAULT '{}',
  targets       TEXT NOT NULL DEFAULT '[]',
  created_at    TEXT NOT NULL,
  started_at    TEXT NOT NULL DEFAULT '',
  finished_at   TEXT NOT NULL DEFAULT '',
  exit_status   INTEGER,
  error         TEXT NOT NULL DEFAULT '',
  report        TEXT,
  report_markdown TEXT NOT NULL DEFAULT '',
  rows_moved    INTEGER NOT NULL DEFAULT 0,
  bytes_moved   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_job ON runs (job, id);
CREATE INDEX IF NOT EXISTS runs_state ON runs (state) WHERE state IN ('queued', 'running');
CREATE TABLE IF NOT EXISTS run_log (
  run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq      INTEGER NOT NULL,
  at       TEXT NOT NULL,
  level    TEXT NOT NULL,
  message  TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
PRAGMA user_version = 1;
