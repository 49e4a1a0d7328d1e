-- Triggers written by users (not the internal ones behind foreign keys).
SELECT t.tgrelid::bigint AS oid, t.tgname AS name, t.tgenabled::text AS enabled
  FROM pg_catalog.pg_trigger t
 WHERE NOT t.tgisinternal
 ORDER BY t.tgrelid, t.tgname;
