-- freshet's journal on a target: everything a run changes besides data
-- (foreign keys and indexes dropped, triggers disabled, FORCE ROW LEVEL
-- SECURITY lifted: kind 'row_security') is recorded here, in
-- the same transaction as the change, and removed only in the transaction
-- that restores it. A 'validate' entry is a foreign key that is back but still
-- NOT VALID because validation failed (an interrupted load left partial data).
SET client_min_messages = warning;  -- no NOTICE for what already exists
CREATE SCHEMA IF NOT EXISTS _freshet;
COMMENT ON SCHEMA _freshet IS 'freshet: journal of changes to restore after an interrupted sync';
CREATE TABLE IF NOT EXISTS _freshet.journal (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id                text NOT NULL,
  recorded_at           timestamptz NOT NULL DEFAULT now(),
  kind                  text NOT NULL CHECK (kind IN ('foreign_key', 'trigger', 'index', 'validate', 'row_security')),
  table_schema          text NOT NULL,
  table_name            text NOT NULL,
  object_name           text NOT NULL,  -- constraint, trigger or index name
  definition            text,     -- foreign_key: pg_get_constraintdef; index: pg_get_indexdef
  validate              boolean,  -- foreign_key: VALIDATE after re-adding
  trigger_enabled       text,     -- trigger: pg_trigger.tgenabled to restore (O, A, R)
  constraint_name       text,     -- index backing a PRIMARY KEY/UNIQUE/EXCLUDE constraint
  constraint_definition text,     -- ... its pg_get_constraintdef
  clustered             boolean,  -- index: CLUSTER ON it again
  bytes                 bigint,   -- index: size before the load (rebuild largest first)
  referenced_schema     text,     -- foreign_key: the referenced table
  referenced_name       text,
  partition_indexes     jsonb     -- index on a partitioned table: its leaf partitions' indexes
);
RESET client_min_messages;
