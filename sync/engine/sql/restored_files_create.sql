-- Snapshot files a restore has loaded into this target, each recorded in the
-- transaction of its COPY, so a restore that died resumes with the files it
-- had not loaded (with the digest of the rows each sent, for verification).
SET client_min_messages = warning;  -- no NOTICE for what already exists
CREATE TABLE IF NOT EXISTS _freshet.restored_files (
  snapshot    text NOT NULL,   -- the snapshot's identity: creation time, source, instant
  path        text NOT NULL,   -- the file, relative to the snapshot directory
  row_digest  text NOT NULL,   -- RowDigest of the rows sent
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (snapshot, path)
);
RESET client_min_messages;
