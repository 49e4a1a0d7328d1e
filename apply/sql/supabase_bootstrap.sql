-- freshet supabase bootstrap v1
--
-- What a Supabase project's database holds before its first migration runs,
-- reduced to what migrations rely on: the roles, the `extensions`, `auth` and
-- `storage` schemas with the tables and functions migrations reference, the
-- grants and default privileges of the API roles, the `search_path` of the
-- migrating role, and the `supabase_realtime` publication. Written for
-- freshet from the facts of Supabase's setup (supabase/postgres init scripts,
-- the auth and storage services' migrations); not a copy of them.
--
-- `freshet migrate shadow` runs it in the shadow database, as a superuser, in
-- one transaction, before the first migration; never in a database that
-- already holds Supabase's schemas. Runnable by hand: psql -1 -f this file.
-- Keep kSupabaseBootstrapVersion (apply/supabase_bootstrap.h) and the first
-- line in step when this changes.

-- Roles are cluster-wide: each is created when missing, NOLOGIN (nothing logs
-- in to a shadow), with Supabase's other attributes. The roles' own settings
-- below are scoped to this database, so another database of the server never
-- sees them.
DO $bootstrap$
DECLARE
  spec text[];
BEGIN
  FOREACH spec SLICE 1 IN ARRAY ARRAY[
      ['postgres', 'NOLOGIN'],  -- the local shadow's superuser already; see the README
      ['supabase_admin', 'NOLOGIN SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS'],
      ['anon', 'NOLOGIN INHERIT'],
      ['authenticated', 'NOLOGIN INHERIT'],
      ['service_role', 'NOLOGIN INHERIT BYPASSRLS'],
      ['authenticator', 'NOLOGIN NOINHERIT'],
      ['dashboard_user', 'NOLOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION'],
      ['supabase_auth_admin', 'NOLOGIN NOINHERIT NOCREATEROLE NOREPLICATION'],
      ['supabase_storage_admin', 'NOLOGIN NOINHERIT CREATEROLE NOREPLICATION']] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = spec[1]) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I %s', spec[1], spec[2]);
    END IF;
  END LOOP;
END
$bootstrap$;

GRANT anon, authenticated, service_role TO postgres;
DO $bootstrap$
DECLARE
  predefined text;
BEGIN
  -- pg_read_all_data is PostgreSQL 14+.
  FOR predefined IN SELECT rolname FROM pg_catalog.pg_roles
                     WHERE rolname IN ('pg_monitor', 'pg_read_all_data', 'pg_signal_backend') LOOP
    EXECUTE pg_catalog.format('GRANT %I TO postgres', predefined);
  END LOOP;
END
$bootstrap$;
GRANT anon, authenticated, service_role TO authenticator;
GRANT authenticator TO supabase_storage_admin;

-- Settings Supabase gives roles, here for this database only. Migrations run
-- as the role that runs this file (the local shadow's `postgres`), so it gets
-- postgres's search_path too: unqualified uuid_generate_v4() and
-- gen_random_uuid() from `extensions` resolve, as they do on Supabase.
DO $bootstrap$
DECLARE
  setting text[];
BEGIN
  FOREACH setting SLICE 1 IN ARRAY ARRAY[
      ['postgres', 'search_path', '"$user", public, extensions'],
      [current_user::text, 'search_path', '"$user", public, extensions'],
      ['supabase_admin', 'search_path', '"$user", public, auth, extensions'],
      ['supabase_auth_admin', 'search_path', 'auth'],
      ['supabase_storage_admin', 'search_path', 'storage'],
      ['anon', 'statement_timeout', '3s'],
      ['authenticated', 'statement_timeout', '8s'],
      ['authenticator', 'statement_timeout', '8s'],
      ['authenticator', 'lock_timeout', '8s']] LOOP
    EXECUTE pg_catalog.format('ALTER ROLE %I IN DATABASE %I SET %s = %s', setting[1],
                              pg_catalog.current_database(), setting[2],
                              CASE WHEN setting[2] = 'search_path' THEN setting[3]
                                   ELSE pg_catalog.quote_literal(setting[3]) END);
  END LOOP;
  -- The CLI's local stack sets these; a placeholder, not a real secret.
  EXECUTE pg_catalog.format('ALTER DATABASE %I SET "app.settings.jwt_secret" = %L',
                            pg_catalog.current_database(), 'freshet-shadow-placeholder-jwt-secret');
  EXECUTE pg_catalog.format('ALTER DATABASE %I SET "app.settings.jwt_exp" = %L',
                            pg_catalog.current_database(), '3600');
END
$bootstrap$;

DO $bootstrap$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
END
$bootstrap$;

-- public: usable by the API roles; everything postgres or supabase_admin
-- creates in it is granted to them (RLS is the guard, as on Supabase).
GRANT USAGE ON SCHEMA public TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
  GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
  GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
  GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
  GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;

-- extensions: uuid-ossp and pgcrypto live here on Supabase (when this server
-- has them; a migration that needs a missing one is reported before anything
-- runs).
CREATE SCHEMA IF NOT EXISTS extensions;
GRANT USAGE ON SCHEMA extensions TO postgres, anon, authenticated, service_role;
GRANT ALL ON SCHEMA extensions TO dashboard_user;
DO $bootstrap$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'uuid-ossp') THEN
    CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pgcrypto') THEN
    CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
  END IF;
END
$bootstrap$;

-- auth: owned by the platform (supabase_admin, tables and functions by
-- supabase_auth_admin); migrations reference auth.users and call auth.uid().
CREATE SCHEMA auth AUTHORIZATION supabase_admin;
COMMENT ON SCHEMA auth IS 'freshet supabase bootstrap v1: a stand-in for Supabase''s auth schema';
GRANT USAGE ON SCHEMA auth TO postgres, anon, authenticated, service_role, dashboard_user;
GRANT ALL ON SCHEMA auth TO supabase_auth_admin;

CREATE TABLE auth.users (
  instance_id uuid,
  id uuid NOT NULL,
  aud character varying(255),
  role character varying(255),
  email character varying(255),
  encrypted_password character varying(255),
  email_confirmed_at timestamp with time zone,
  invited_at timestamp with time zone,
  confirmation_token character varying(255),
  confirmation_sent_at timestamp with time zone,
  recovery_token character varying(255),
  recovery_sent_at timestamp with time zone,
  email_change_token_new character varying(255),
  email_change character varying(255),
  email_change_sent_at timestamp with time zone,
  last_sign_in_at timestamp with time zone,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamp with time zone,
  updated_at timestamp with time zone,
  phone text DEFAULT NULL,
  phone_confirmed_at timestamp with time zone,
  phone_change text DEFAULT '',
  phone_change_token character varying(255) DEFAULT '',
  phone_change_sent_at timestamp with time zone,
  confirmed_at timestamp with time zone
    GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
  email_change_token_current character varying(255) DEFAULT '',
  email_change_confirm_status smallint DEFAULT 0,
  banned_until timestamp with time zone,
  reauthentication_token character varying(255) DEFAULT '',
  reauthentication_sent_at timestamp with time zone,
  is_sso_user boolean NOT NULL DEFAULT false,
  deleted_at timestamp with time zone,
  is_anonymous boolean NOT NULL DEFAULT false,
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT users_phone_key UNIQUE (phone),
  CONSTRAINT users_email_change_confirm_status_check
    CHECK (email_change_confirm_status >= 0 AND email_change_confirm_status <= 2)
);
CREATE UNIQUE INDEX users_email_partial_key ON auth.users (email) WHERE is_sso_user = false;
CREATE INDEX users_instance_id_idx ON auth.users (instance_id);
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
GRANT ALL ON auth.users TO dashboard_user;
GRANT SELECT ON auth.users TO postgres WITH GRANT OPTION;

-- The request's JWT claims, as PostgREST sets them: the single-claim setting
-- of old versions first, then the `request.jwt.claims` JSON.
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $function$
  SELECT coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
    (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb
      ->> 'sub'))::uuid
$function$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $function$
  SELECT coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim.role', true), ''),
    (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb
      ->> 'role'))::text
$function$;
CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $function$
  SELECT coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim.email', true), ''),
    (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb
      ->> 'email'))::text
$function$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $function$
  SELECT coalesce(
    nullif(pg_catalog.current_setting('request.jwt.claim', true), ''),
    nullif(pg_catalog.current_setting('request.jwt.claims', true), ''))::jsonb
$function$;
COMMENT ON FUNCTION auth.uid() IS 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
COMMENT ON FUNCTION auth.role() IS 'Deprecated. Use auth.jwt() -> ''role'' instead.';
COMMENT ON FUNCTION auth.email() IS 'Deprecated. Use auth.jwt() -> ''email'' instead.';
ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.role() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.email() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.jwt() OWNER TO supabase_auth_admin;
GRANT EXECUTE ON FUNCTION auth.uid(), auth.role(), auth.email(), auth.jwt()
  TO postgres, anon, authenticated, service_role, dashboard_user;

-- storage: buckets and objects (RLS on: projects write policies on
-- storage.objects), the path helpers policies call, and the grants.
CREATE SCHEMA storage AUTHORIZATION supabase_admin;
GRANT USAGE ON SCHEMA storage TO postgres, anon, authenticated, service_role;
GRANT ALL ON SCHEMA storage TO supabase_storage_admin, dashboard_user;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA storage
  GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA storage
  GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA storage
  GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;

CREATE TYPE storage.buckettype AS ENUM ('STANDARD', 'ANALYTICS', 'VECTOR');

CREATE TABLE storage.buckets (
  id text NOT NULL,
  name text NOT NULL,
  owner uuid,
  created_at timestamp with time zone DEFAULT now(),
  updated_at timestamp with time zone DEFAULT now(),
  public boolean DEFAULT false,
  avif_autodetection boolean DEFAULT false,
  file_size_limit bigint,
  allowed_mime_types text[],
  owner_id text,
  type storage.buckettype NOT NULL DEFAULT 'STANDARD',
  CONSTRAINT buckets_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX bname ON storage.buckets (name);

CREATE TABLE storage.objects (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  bucket_id text,
  name text,
  owner uuid,
  created_at timestamp with time zone DEFAULT now(),
  updated_at timestamp with time zone DEFAULT now(),
  last_accessed_at timestamp with time zone DEFAULT now(),
  metadata jsonb,
  path_tokens text[] GENERATED ALWAYS AS (pg_catalog.string_to_array(name, '/')) STORED,
  version text,
  owner_id text,
  user_metadata jsonb,
  CONSTRAINT objects_pkey PRIMARY KEY (id),
  CONSTRAINT "objects_bucketId_fkey" FOREIGN KEY (bucket_id) REFERENCES storage.buckets (id)
);
CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);

CREATE TABLE storage.migrations (
  id integer NOT NULL,
  name character varying(100) NOT NULL,
  hash character varying(40) NOT NULL,
  executed_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT migrations_pkey PRIMARY KEY (id),
  CONSTRAINT migrations_name_key UNIQUE (name)
);

ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.migrations ENABLE ROW LEVEL SECURITY;

-- The segments of an object's name: 'a/b/c.png' -> {a,b}, 'c.png', 'png'.
CREATE FUNCTION storage.foldername(name text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $function$
DECLARE
  _parts text[];
BEGIN
  _parts := pg_catalog.string_to_array(name, '/');
  RETURN _parts[1 : pg_catalog.array_length(_parts, 1) - 1];
END
$function$;
CREATE FUNCTION storage.filename(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $function$
DECLARE
  _parts text[];
BEGIN
  _parts := pg_catalog.string_to_array(name, '/');
  RETURN _parts[pg_catalog.array_length(_parts, 1)];
END
$function$;
CREATE FUNCTION storage.extension(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $function$
DECLARE
  _parts text[];
  _filename text;
BEGIN
  _parts := pg_catalog.string_to_array(name, '/');
  _filename := _parts[pg_catalog.array_length(_parts, 1)];
  RETURN pg_catalog.reverse(pg_catalog.split_part(pg_catalog.reverse(_filename), '.', 1));
END
$function$;

ALTER TABLE storage.buckets OWNER TO supabase_storage_admin;
ALTER TABLE storage.objects OWNER TO supabase_storage_admin;
ALTER TABLE storage.migrations OWNER TO supabase_storage_admin;
ALTER FUNCTION storage.foldername(text) OWNER TO supabase_storage_admin;
ALTER FUNCTION storage.filename(text) OWNER TO supabase_storage_admin;
ALTER FUNCTION storage.extension(text) OWNER TO supabase_storage_admin;
ALTER TYPE storage.buckettype OWNER TO supabase_storage_admin;
GRANT ALL ON storage.buckets, storage.objects TO postgres, anon, authenticated, service_role,
  dashboard_user;
GRANT ALL ON storage.migrations TO postgres, anon, authenticated, service_role;
