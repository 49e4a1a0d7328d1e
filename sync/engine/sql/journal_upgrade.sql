-- Brings a journal created by an earlier freshet up to the current shape.
ALTER TABLE _freshet.journal
  ADD COLUMN IF NOT EXISTS constraint_name text,
  ADD COLUMN IF NOT EXISTS constraint_definition text,
  ADD COLUMN IF NOT EXISTS clustered boolean,
  ADD COLUMN IF NOT EXISTS bytes bigint,
  ADD COLUMN IF NOT EXISTS referenced_schema text,
  ADD COLUMN IF NOT EXISTS referenced_name text,
  ADD COLUMN IF NOT EXISTS partition_indexes jsonb;
ALTER TABLE _freshet.journal DROP CONSTRAINT IF EXISTS journal_kind_check;
ALTER TABLE _freshet.journal ADD CONSTRAINT journal_kind_check
  CHECK (kind IN ('foreign_key', 'trigger', 'index', 'validate', 'row_security'));

-- Snapshot files a restore has loaded into this target, each recorded in the
-- transaction of its COPY, so a restore that died resumes with the files it
-- had not loaded (with the digest of the rows each sent, for verification).
CREATE TABLE IF NOT EXISTS _freshet.restored_files (
  snapshot    text NOT NULL,   -- the snapshot's identity: creation time, source, instant
  path        text NOT NULL,   -- the file, relative to the snapshot directory
  row_digest  text NOT NULL,   -- RowDigest of the rows sent
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (snapshot, path)
);
