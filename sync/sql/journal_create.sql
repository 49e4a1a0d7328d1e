-- freshet's journal on a target: everything a run changes besides data
-- (foreign keys dropped, triggers disabled) is recorded here, in the same
-- transaction as the change, and removed only once it has been restored.
CREATE SCHEMA IF NOT EXISTS _freshet;
COMMENT ON SCHEMA _freshet IS 'freshet: journal of changes to restore after an interrupted sync';
CREATE TABLE IF NOT EXISTS _freshet.journal (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id          text NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  kind            text NOT NULL CHECK (kind IN ('foreign_key', 'trigger')),
  table_schema    text NOT NULL,
  table_name      text NOT NULL,
  object_name     text NOT NULL,
  definition      text,     -- foreign_key: pg_get_constraintdef
  validate        boolean,  -- foreign_key: VALIDATE after re-adding
  trigger_enabled text      -- trigger: pg_trigger.tgenabled to restore (O, A, R)
);
