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
