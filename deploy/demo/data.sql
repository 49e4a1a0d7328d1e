-- Demo rows: psql -v rows=N (customers; projects and tasks scale with it).
\if :{?rows}
\else
  \set rows 2000
\endif
BEGIN;
ALTER TABLE public.tasks DISABLE TRIGGER tasks_audit;
INSERT INTO public.customers (name, email, created_at)
SELECT 'Customer ' || g, 'c' || g || '@example.com', timestamptz '2025-01-01' + g * interval '1 minute'
FROM generate_series(1, :rows) g;
INSERT INTO public.projects (customer_id, name)
SELECT 1 + g % :rows, 'Project ' || g FROM generate_series(1, 3 * :rows) g;
INSERT INTO public.tasks (project_id, title, done, details)
SELECT 1 + g % (3 * :rows), 'Task ' || g, g % 3 = 0, jsonb_build_object('estimate', g % 13)
FROM generate_series(1, 20 * :rows) g;
UPDATE public.projects p SET lead_task_id = (SELECT min(t.id) FROM public.tasks t WHERE t.project_id = p.id);
ALTER TABLE public.tasks ENABLE TRIGGER tasks_audit;
COMMIT;
