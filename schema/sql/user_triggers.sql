-- Triggers written by users (not the internal ones behind foreign keys).
-- $1 (boolean): also the definition (pg_get_triggerdef) and whether the
-- trigger is a clone that a partitioned table's trigger put on a partition,
-- which drift checks need and the sync does not.
SELECT t.tgrelid::bigint AS oid,
       t.tgname AS name,
       t.tgenabled::text AS enabled,
       -- tgparentid is PostgreSQL 13+; before it, clones were internal.
       CASE WHEN $1::boolean
            THEN coalesce(pg_catalog.to_jsonb(t) ->> 'tgparentid', '0') <> '0' END AS cloned,
       CASE WHEN $1::boolean THEN pg_catalog.pg_get_triggerdef(t.oid) END AS definition
  FROM pg_catalog.pg_trigger t
 WHERE NOT t.tgisinternal
 ORDER BY t.tgrelid, t.tgname;
