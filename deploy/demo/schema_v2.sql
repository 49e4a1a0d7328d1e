-- Demo app, migration 2 (only "dev" has it so far): a new column with a
-- default and a new table.
ALTER TABLE public.customers ADD COLUMN tier text NOT NULL DEFAULT 'free';
CREATE TABLE public.feature_flags (key text PRIMARY KEY, enabled boolean NOT NULL DEFAULT false);
INSERT INTO public.feature_flags VALUES ('new_dashboard', true);
