#!/usr/bin/python3
"""The GitHub Actions workflows of deploy/github/, run for real.

Each workflow job's steps run in order, with the environment the workflow
gives them (tests/deploy/gha.py), against local PostgreSQL clusters standing
in for production, staging, dev and preview branches; freshet comes from the
.deb that CPack builds from this tree, downloaded by setup-freshet from a
fake GitHub (tests/deploy/fake_github.py) that also takes the pull-request
comments. The assertions are what a team would check: the comment's content
and that it is one comment updated in place, the migrations in the
databases' history, dev equal to prod by checksum, no secret in any log.

Usage: workflows_test.py BUILD_DIR [unittest arguments]
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gha  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402
from local_clusters import LocalClusters, digest, psql  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / "deploy" / "github"
BUILD_DIR: Path
OWNER_REPO = "acme/crm"
MARKER = "<!-- freshet:migrations -->"
PASSWORD = "Pr0d-S3cret-9f2c"  # in every URL: trust auth ignores it; leak checks look for it

INIT = """CREATE TABLE public.customers (
  id bigint PRIMARY KEY, name text NOT NULL, owner uuid REFERENCES auth.users (id));
"""
ORDERS = """CREATE TABLE public.orders (
  id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES public.customers (id),
  total numeric(12, 2) NOT NULL, placed_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX orders_customer ON public.orders (customer_id);
"""
NOTES = """ALTER TABLE public.orders ADD COLUMN note text;
CREATE INDEX orders_note ON public.orders (note);
"""
BROKEN = "ALTER TABLE public.orders ADD COLUMN refund bigint REFERENCES public.refunds (id);\n"
# What a Supabase database has before any migration of the project.
SUPABASE_AUTH = "CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY);"


def git(workspace: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(workspace), *args], check=True, text=True,
                          capture_output=True).stdout.strip()


def commit(workspace: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        path = workspace / "supabase" / "migrations" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(workspace, "add", "-A")
    git(workspace, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm",
        message)
    return git(workspace, "rev-parse", "HEAD")


class Workflows(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(tempfile.mkdtemp(prefix="freshet-workflows-"))
        cls.tmp.chmod(0o755)  # the clusters run as the OS user postgres
        downloads = cls.tmp / "downloads"
        downloads.mkdir()
        subprocess.run(["cpack", "-G", "DEB", "--config", str(BUILD_DIR / "CPackConfig.cmake"),
                        "-B", str(downloads)], check=True, cwd=cls.tmp, capture_output=True)
        shutil.rmtree(downloads / "_CPack_Packages", ignore_errors=True)
        cls.deb = next(downloads.glob("freshet_*_amd64.deb"))
        cls.api = FakeGitHub(download_dir=downloads).start()
        cls.clusters = LocalClusters(["prod", "dev", "deploy"], cls.tmp).__enter__()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.clusters.__exit__()
        cls.api.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def harness(self, workspace: Path, **kwargs) -> gha.Harness:
        return gha.Harness(
            workspace, host_images={"debian:bookworm-slim"},
            action_map={"freshet/freshet/deploy/github/setup-freshet": GITHUB / "setup-freshet"},
            stand_ins={"actions/checkout": gha.checkout_noop, "actions/cache": gha.cache_miss},
            github={"api_url": self.api.url, "server_url": self.api.url,
                    "repository": OWNER_REPO},
            secrets={"GITHUB_TOKEN": self.api.token, **kwargs.pop("secrets", {})},
            echo=sys.stderr if "-v" in sys.argv else None, **kwargs)

    def assertSucceeded(self, result: gha.RunResult, job: str) -> None:
        self.assertEqual(result.jobs[job].result, "success", result.format())

    def assertNoLeak(self, result: gha.RunResult) -> None:
        self.assertFalse(result.secret_leaked, [str(leak) for leak in result.leaks])
        self.assertNotIn(PASSWORD, result.summary)

    def new_workspace(self) -> Path:
        workspace = Path(tempfile.mkdtemp(dir=self.tmp, prefix="ws-"))
        git(workspace, "init", "-q", "-b", "main")
        return workspace

    # -- freshet-pr.yml ----------------------------------------------------

    def test_pull_request_check_comments_once_and_updates_the_comment_on_each_push(self):
        workspace = self.new_workspace()
        base = commit(workspace, {"20260101000000_init.sql": INIT,
                                  "20260102000000_orders.sql": ORDERS}, "init")
        git(workspace, "checkout", "-qb", "notes")
        commit(workspace, {"20260201000000_order_notes.sql": NOTES}, "notes")
        self.api.seed_comment("acme", "crm", 7, MARKER + "\nquoted by a person", user="alice")
        event = {"number": 7, "pull_request": {
            "number": 7, "base": {"sha": base, "ref": "main"},
            "head": {"ref": "notes", "repo": {"full_name": OWNER_REPO}}}}

        first = self.harness(workspace, event_name="pull_request", event=event).run(
            GITHUB / "freshet-pr.yml", "check")
        self.assertSucceeded(first, "check")
        self.assertNoLeak(first)
        bot = [c for c in self.api.comments("acme", "crm", 7) if c["user"]["login"] != "alice"]
        self.assertEqual(len(bot), 1)
        body = bot[0]["body"]
        self.assertTrue(body.startswith(MARKER + "\n## ✅ freshet: migrations"), body)
        self.assertIn("**Files in this pull request** (1)\n- "
                      "`supabase/migrations/20260201000000_order_notes.sql`", body)
        self.assertIn("**Will be applied to production on merge** (1, in this order)\n"
                      "1. `20260201000000_order_notes.sql`", body)
        self.assertIn("**`create-index-not-concurrently`** (1)\n- ⚠️ "
                      "`supabase/migrations/20260201000000_order_notes.sql:2`", body)
        self.assertIn("3 migrations applied to an empty database", body)
        self.assertIn("both give the same schema", body)
        self.assertEqual(first.summary.strip(), body.strip())

        # A second push breaks the shadow: the check fails, the same comment says why.
        commit(workspace, {"20260202000000_refunds_link.sql": BROKEN}, "refunds")
        second = self.harness(workspace, event_name="pull_request", event=event).run(
            GITHUB / "freshet-pr.yml", "check")
        self.assertEqual(second.jobs["check"].result, "failure")
        self.assertEqual(second.jobs["check"].step("Result").outcome, "failure")
        comments = self.api.comments("acme", "crm", 7)
        self.assertEqual([c["id"] for c in comments if c["user"]["login"] != "alice"],
                         [bot[0]["id"]])
        updated = next(c["body"] for c in comments if c["id"] == bot[0]["id"])
        self.assertIn("## ❌ freshet: migrations", updated)
        self.assertIn("the shadow check failed", updated)
        self.assertIn("`20260202000000_refunds_link.sql:1`", updated)
        self.assertIn('relation \\"public.refunds\\" does not exist'.replace('\\', ''), updated)
        self.assertIn("**Result: failed.**", updated)
        self.assertEqual(len(self.api.requests_to("PATCH", r"/issues/comments/\d+$")), 1)
        alice = next(c for c in comments if c["user"]["login"] == "alice")
        self.assertEqual(alice["body"], MARKER + "\nquoted by a person")

    # -- freshet-deploy.yml ------------------------------------------------

    def test_deploy_applies_to_staging_then_production_and_summarises(self):
        workspace = self.new_workspace()
        commit(workspace, {"20260101000000_init.sql": INIT, "20260102000000_orders.sql": ORDERS,
                           "20260201000000_order_notes.sql": NOTES}, "three migrations")
        admin = self.clusters.url("deploy")
        psql(admin, "CREATE DATABASE staging; CREATE DATABASE production;")
        staging = self.clusters.url("deploy", "staging", PASSWORD)
        production = self.clusters.url("deploy", "production", PASSWORD)
        for url in (staging, production):
            psql(url, SUPABASE_AUTH)
        environments = {"staging": {"secrets": {"STAGING_DATABASE_URL": staging}},
                        "production": {"secrets": {"PRODUCTION_DATABASE_URL": production}}}
        run = self.harness(workspace, event_name="push", environments=environments).run(
            GITHUB / "freshet-deploy.yml")
        self.assertSucceeded(run, "staging")
        self.assertSucceeded(run, "production")
        self.assertNoLeak(run)
        self.assertEqual(run.jobs["production"].environment, "production")
        self.assertEqual(run.jobs["production"].needs, ["staging"])
        history = ("SELECT string_agg(version, ',' ORDER BY version) "
                   "FROM supabase_migrations.schema_migrations")
        for url in (staging, production):
            self.assertEqual(psql(url, history), "20260101000000,20260102000000,20260201000000")
            self.assertEqual(psql(url, "SELECT count(*) FROM pg_indexes WHERE indexname = "
                                       "'orders_note'"), "1")
        summary = run.jobs["staging"].summary
        self.assertIn("### ✅ staging: 3 migrations applied in", summary)
        self.assertNotIn("127.0.0.1", summary)
        self.assertIn("3 migrations applied in", summary)
        self.assertRegex(summary, r"\| `20260201000000_order_notes.sql` \| \d+\.\d\d \|")
        self.assertIn("### ✅ production", run.jobs["production"].summary)

        # Nothing new: both say so. A broken migration stops at staging.
        again = self.harness(workspace, event_name="push", environments=environments).run(
            GITHUB / "freshet-deploy.yml")
        self.assertSucceeded(again, "production")
        self.assertIn("up to date, nothing applied", again.jobs["production"].summary)
        commit(workspace, {"20260202000000_refunds_link.sql": BROKEN}, "broken")
        broken = self.harness(workspace, event_name="push", environments=environments).run(
            GITHUB / "freshet-deploy.yml")
        self.assertEqual(broken.jobs["staging"].result, "failure")
        self.assertEqual(broken.jobs["production"].result, "skipped")
        self.assertIn("❌ staging: migrate up failed", broken.jobs["staging"].summary)
        self.assertIn("20260202000000_refunds_link.sql", broken.jobs["staging"].summary)
        self.assertEqual(psql(production, history), "20260101000000,20260102000000,20260201000000")
        self.assertNoLeak(broken)

    # -- freshet-refresh.yml -----------------------------------------------

    def refresh_databases(self, previews: list[str]) -> tuple[str, str, dict[str, str]]:
        prod_admin, dev_admin = self.clusters.url("prod"), self.clusters.url("dev")
        name = f"app{len(previews)}"
        psql(prod_admin, f"CREATE DATABASE {name}")
        databases = [name] + [f"preview_{p.replace('-', '_')}" for p in previews]
        psql(dev_admin, "".join(f"CREATE DATABASE {db};" for db in databases))
        prod = self.clusters.url("prod", name, PASSWORD)
        psql(prod, SUPABASE_AUTH + INIT + ORDERS +
             "INSERT INTO auth.users SELECT md5(g::text)::uuid FROM generate_series(1, 50) g;"
             "INSERT INTO public.customers SELECT g, 'customer ' || g, md5((g % 50 + 1)::text)::uuid"
             " FROM generate_series(1, 400) g;"
             "INSERT INTO public.orders SELECT g, g % 400 + 1, g * 1.25, "
             "'2026-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 6000) g;")
        targets = {db: self.clusters.url("dev", db, PASSWORD) for db in databases}
        for url in targets.values():  # dev is a migration ahead, with stale rows
            psql(url, SUPABASE_AUTH + INIT + ORDERS + NOTES +
                 "INSERT INTO public.customers VALUES (1, 'stale', NULL), (9999, 'dev only', NULL)")
        return prod, name, targets

    def assertEqualToProd(self, prod: str, url: str) -> None:
        for table in ("auth.users", "public.customers"):
            self.assertEqual(digest(url, table), digest(prod, table), table)
        columns = "id, customer_id, total, placed_at"
        query = f"SELECT md5(string_agg(({columns})::text, '|' ORDER BY id)) FROM public.orders"
        self.assertEqual(psql(url, query), psql(prod, query))

    def test_weekly_refresh_syncs_dev_from_prod_and_verifies(self):
        prod, dev_db, targets = self.refresh_databases([])
        run = self.harness(self.new_workspace(), event_name="schedule",
                           secrets={"PROD_DATABASE_URL": prod,
                                    "DEV_DATABASE_URL": targets[dev_db]}).run(
            GITHUB / "freshet-refresh.yml", "refresh")
        self.assertSucceeded(run, "refresh")
        self.assertNoLeak(run)
        self.assertEqual(run.jobs["refresh"].step(
            "Capture prod once, restore into dev and preview branches, verify").outcome,
            "skipped")
        self.assertEqualToProd(prod, targets[dev_db])
        self.assertRegex(run.summary, r"\| public\.orders \| 6,000 \|.*\| equal \|")

    def test_on_demand_snapshot_refresh_restores_dev_and_preview_branches(self):
        previews = ["pr-12", "pr-13"]
        prod, dev_db, targets = self.refresh_databases(previews)
        server = self.clusters.url("dev", "", PASSWORD).rstrip("/")
        run = self.harness(self.new_workspace(), event_name="workflow_dispatch",
                           inputs={"mode": "snapshot"}, vars={"PREVIEW_BRANCHES": " ".join(previews)},
                           secrets={"PROD_DATABASE_URL": prod, "DEV_DATABASE_URL": targets[dev_db],
                                    "PREVIEW_SERVER_URL": server}).run(
            GITHUB / "freshet-refresh.yml", "refresh")
        self.assertSucceeded(run, "refresh")
        self.assertNoLeak(run)
        self.assertEqual(run.jobs["refresh"].step("Sync prod into dev, then verify").outcome,
                         "skipped")
        for url in targets.values():
            self.assertEqualToProd(prod, url)
        for db in targets:
            self.assertIn(f"/{db}`", run.summary)
        self.assertEqual(len(re.findall(r"\| public\.orders \| 6,000 \|.*\| equal \|",
                                        run.summary)), len(targets), run.summary)


if __name__ == "__main__":
    BUILD_DIR = Path(sys.argv.pop(1)).resolve()
    unittest.main()
