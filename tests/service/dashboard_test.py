"""The dashboard at / in headless Chromium, against a real `freshet serve`
(tests/service/serve_fixture.py): it asks for a token, lists the jobs,
triggers runs, shows a run's progress while it is paused half-way (the
engine's FRESHET_TEST_PAUSE_* hook) and its report once it succeeded, and
shows a read token's 403 instead of triggering.

    /usr/bin/python3 tests/service/dashboard_test.py path/to/freshet

With FRESHET_DASHBOARD_SCREENSHOT set, the progress test also saves
sync/service/dashboard/screenshot.png (1280x900) for the README.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException,
                                        StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from serve_fixture import ADMIN_TOKEN, READ_TOKEN, ServeFixture  # noqa: E402

SCREENSHOT = HERE.parents[1] / "sync" / "service" / "dashboard" / "screenshot.png"
WAIT_SECONDS = 120
TOKEN_KEY = "freshet.token"
freshet_binary = ""  # argv[1]
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
]


class DashboardCase(unittest.TestCase):
    """One `freshet serve` per class; a fresh browser (and profile) per test."""

    @classmethod
    def service_env(cls, temp: Path) -> dict[str, str]:
        return {}

    @classmethod
    def setUpClass(cls) -> None:
        cls.temp = Path(tempfile.mkdtemp(prefix="freshet-dashboard-"))
        cls.addClassCleanup(shutil.rmtree, cls.temp, ignore_errors=True)
        env = cls.service_env(cls.temp)
        # Clusters started at the same moment by another test process can pick
        # the same free port (deploy/lib/clusters.sh checks, then initdb runs
        # for seconds before the server listens): that start fails at once and
        # is tried again; anything else fails the class.
        for attempt in range(3):
            cls.serve = ServeFixture(freshet_binary, env=env)
            cls.serve.dir.chmod(0o755)  # as root the clusters run as `postgres`; mkdtemp: 0700
            try:
                cls.serve.__enter__()
                break
            except BaseException as error:
                if hasattr(cls.serve, "log"):  # the service started: its __exit__ stops all
                    cls.serve.__exit__(None, None, None)
                    raise
                cls.serve.clusters.__exit__()
                shutil.rmtree(cls.serve.dir, ignore_errors=True)
                if attempt == 2 or "did not start the clusters" not in str(error):
                    raise
        cls.addClassCleanup(cls.serve.__exit__, None, None, None)

    def setUp(self) -> None:
        exit_code = self.serve.process.poll()
        if exit_code is not None:
            self.fail(f"freshet serve exited ({exit_code}):\n{self.serve.output()[-4000:]}")
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.temp)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in CHROMIUM_ARGS + [f"--user-data-dir={profile}"]:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.addCleanup(self.driver.quit)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    # ---- helpers -------------------------------------------------------------

    def wait_for(self, condition, what: str, timeout: float = WAIT_SECONDS):
        """condition() until it returns something true; fails naming `what`."""
        try:
            return WebDriverWait(
                self.driver, timeout, poll_frequency=0.1,
                ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
            ).until(lambda _: condition())
        except TimeoutException:
            self.fail(f"timed out after {timeout} s waiting for {what}\n{self.diagnostics()}")

    def diagnostics(self) -> str:
        page = self.driver.execute_script("return document.body ? document.body.innerText : ''")
        console = "\n".join(entry["message"] for entry in self.driver.get_log("browser"))
        return (f"--- page ---\n{page}\n--- browser console ---\n{console}\n"
                f"--- freshet serve ---\n{self.serve.output()[-4000:]}")

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def visible(self, css: str) -> bool:
        elements = self.driver.find_elements(By.CSS_SELECTOR, css)
        return bool(elements) and elements[0].is_displayed()

    def click(self, css: str, what: str) -> None:
        """Clicks the enabled element at `css` (rows are rebuilt as data changes)."""
        def attempt() -> bool:
            element = self.find(css)
            if not element.is_displayed() or not element.is_enabled():
                return False
            element.click()
            return True
        self.wait_for(attempt, what)

    def open_dashboard(self, token: str | None = None) -> None:
        self.driver.get(self.serve.base + "/")
        self.wait_for(lambda: self.visible("#token"), "the token field")
        if token:
            self.sign_in(token)

    def sign_in(self, token: str) -> None:
        self.find("#token").send_keys(token)
        self.find("#sign-in").click()
        self.wait_for(lambda: self.visible('#jobs tr[data-job="refresh"]'), "the job list")

    def severe_console_entries(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser")
                if entry["level"] == "SEVERE"]

    def api_run_ids(self) -> set[int]:
        status, body = self.serve.json("GET", "/v1/runs")
        self.assertEqual(status, 200, body)
        return {run["id"] for run in body["runs"]}

    def new_run_row(self, before: set[int]) -> int:
        """The id of a run row that appeared in the runs table since `before`."""
        def appeared():
            for row in self.driver.find_elements(By.CSS_SELECTOR, "#runs tr[data-run-id]"):
                run_id = int(row.get_attribute("data-run-id"))
                if run_id not in before:
                    return run_id
            return None
        return self.wait_for(appeared, "a new row in the runs table")

    def run_row(self, run_id: int):
        return self.find(f'#runs tr[data-run-id="{run_id}"]')

    def row_fraction(self, run_id: int) -> float | None:
        bars = self.run_row(run_id).find_elements(By.CSS_SELECTOR, "progress[data-fraction]")
        return float(bars[0].get_attribute("data-fraction")) if bars else None


class DashboardTest(DashboardCase):
    """Signing in, listing, triggering, and what a read token may not do."""

    def test_files_are_served_with_their_types_and_security_headers(self):
        for path, content_type in [("/", "text/html"), ("/dashboard.css", "text/css"),
                                   ("/dashboard.js", "text/javascript")]:
            status, headers, body = self.serve.call("GET", path, token=None)
            self.assertEqual(status, 200, path)
            self.assertTrue(headers["content-type"].startswith(content_type), headers)
            self.assertEqual(headers["cache-control"], "no-cache")
            self.assertEqual(headers["x-content-type-options"], "nosniff")
            self.assertEqual(headers["referrer-policy"], "no-referrer")
            self.assertIn("script-src 'self'", headers["content-security-policy"])
            self.assertIn("frame-ancestors 'none'", headers["content-security-policy"])
            self.assertGreater(len(body), 100)
        status, _, _ = self.serve.call("GET", "/dashboard.map", token=None)
        self.assertEqual(status, 404)

    def test_page_asks_for_a_token_then_lists_the_jobs(self):
        self.open_dashboard()
        self.assertEqual(self.driver.title, "freshet dashboard")
        self.assertTrue(self.visible("#sign-in-prompt"))
        self.assertFalse(self.visible("#main"), "nothing is listed before a token is given")

        self.sign_in(ADMIN_TOKEN)
        row = self.find('#jobs tr[data-job="refresh"]')
        self.assertEqual(row.find_element(By.CSS_SELECTOR, "[data-schedule]").text, "0 2 * * 0")
        self.assertEqual(row.find_element(By.CSS_SELECTOR, "[data-time-zone]").text,
                         "Europe/Berlin")
        self.assertIn("prod → dev", row.text)
        self.assertIn("UTC", row.find_element(By.CSS_SELECTOR, "[data-next-run]").text)
        self.assertEqual(self.severe_console_entries(), [])

        # The token is kept for this tab only, never in the URL.
        self.assertNotIn(ADMIN_TOKEN, self.driver.current_url)
        self.assertEqual(self.driver.execute_script(f"return sessionStorage.getItem('{TOKEN_KEY}')"),
                         ADMIN_TOKEN)
        self.assertEqual(self.driver.execute_script("return localStorage.length"), 0)

        self.find("#sign-out").click()
        self.wait_for(lambda: self.visible("#token") and not self.visible("#main"),
                      "the token form again after signing out")
        self.assertIsNone(
            self.driver.execute_script(f"return sessionStorage.getItem('{TOKEN_KEY}')"))

    def test_a_refused_token_is_named(self):
        self.open_dashboard()
        self.find("#token").send_keys("not-a-token")
        self.find("#sign-in").click()
        self.wait_for(lambda: "Token refused" in self.find("#error").text, "'Token refused'")
        self.assertTrue(self.visible("#token"))
        self.assertFalse(self.visible("#main"))

    def test_run_now_triggers_a_run(self):
        before = self.api_run_ids()
        self.open_dashboard(ADMIN_TOKEN)
        self.click('#jobs button[data-action="run-now"][data-job="refresh"]', "Run now")
        run_id = self.new_run_row(before)

        status, body = self.serve.json("GET", "/v1/runs")
        run = next(run for run in body["runs"] if run["id"] == run_id)
        self.assertEqual(run["job"], "refresh")
        self.assertEqual(run["trigger"], "api")
        self.assertEqual(run["requested_by"], "FRESHET_API_TOKEN")
        self.wait_for(lambda: self.run_row(run_id).get_attribute("data-state") == "succeeded",
                      f"run {run_id} to succeed")
        self.wait_for(lambda: f"#{run_id}" in self.find('#jobs tr[data-job="refresh"]').text,
                      "the job's last run to be the new one")

    def test_read_token_cannot_run_now(self):
        before = self.api_run_ids()
        self.open_dashboard(READ_TOKEN)
        self.click('#jobs button[data-action="run-now"][data-job="refresh"]', "Run now")
        message = self.wait_for(
            lambda: self.find('[data-job-message="refresh"]').text or None, "the 403 message")
        self.assertIn("scope 'read'", message)
        self.assertIn("needs 'trigger'", message)
        self.assertIn("HTTP 403", message)
        self.assertIn("needs 'trigger'", self.find("#error").text)
        self.assertFalse(
            self.find('#jobs button[data-action="run-now"][data-job="refresh"]').is_enabled())
        self.assertEqual(self.api_run_ids(), before, "the refused trigger created no run")


class DashboardProgressTest(DashboardCase):
    """A run paused after its first table: live progress, then the report."""

    @classmethod
    def service_env(cls, temp: Path) -> dict[str, str]:
        (temp / "pause").mkdir()
        return {"FRESHET_TEST_PAUSE_DIR": str(temp / "pause"), "FRESHET_TEST_PAUSE_AT": "done copy"}

    def test_progress_moves_until_the_run_succeeds(self):
        pause = self.temp / "pause"
        before = self.api_run_ids()
        self.open_dashboard(ADMIN_TOKEN)
        self.click('#jobs button[data-action="run-now"][data-job="refresh"]', "Run now")
        run_id = self.new_run_row(before)
        self.wait_for(lambda: (pause / "paused").exists(), "the run to pause after one table")
        first_table = (pause / "paused").read_text().removeprefix("done copy ").strip()
        self.assertIn(first_table, {"public.accounts", "public.orders"})
        other_table = ({"public.accounts", "public.orders"} - {first_table}).pop()

        # Paused half-way: the row shows a partial fraction, the details the tables' states.
        self.assertEqual(self.run_row(run_id).get_attribute("data-state"), "running")
        paused_fraction = self.wait_for(
            lambda: (f := self.row_fraction(run_id)) is not None and 0 < f < 1 and f,
            "a fraction between 0 and 1 in the run's row")
        self.click(f'#runs button[data-action="open"][data-run-id="{run_id}"]', "the run's details")
        table_state = lambda table: self.find(  # noqa: E731
            f'#details-progress tr[data-table="{table}"]').get_attribute("data-table-state")
        self.wait_for(lambda: table_state(first_table) == "done"
                      and table_state(other_table) == "waiting",
                      f"{first_table} done and {other_table} waiting in the details")
        self.assertEqual(self.run_row(run_id).get_attribute("data-state"), "running")

        (pause / "release").touch()
        self.wait_for(lambda: self.run_row(run_id).get_attribute("data-state") == "succeeded",
                      f"run {run_id} to succeed")
        self.assertEqual(self.row_fraction(run_id), 1.0)
        self.assertLess(paused_fraction, 1.0)
        for table in ("public.orders", "public.accounts"):
            self.assertEqual(self.serve.dev_digest(table), self.serve.prod_digest(table), table)

        # The finished run's details: its report per table, then its log.
        def report_rows():
            rows = self.driver.find_elements(By.CSS_SELECTOR, "#details-report tbody tr")
            return {row.get_attribute("data-table"): row.text for row in rows} or None
        report = self.wait_for(report_rows, "the report's tables in the details")
        self.assertEqual(set(report), {"public.accounts", "public.orders"})
        self.assertIn("2,000", report["public.accounts"])
        self.assertIn("30,000", report["public.orders"])
        self.assertEqual(self.find("#details").get_attribute("data-state"), "succeeded")
        self.assertFalse(self.visible("#details-progress-box"))
        if os.environ.get("FRESHET_DASHBOARD_SCREENSHOT"):
            self.driver.execute_script("window.scrollTo(0, 0)")
            self.assertTrue(self.driver.save_screenshot(str(SCREENSHOT)), SCREENSHOT)
        self.click("#show-log", "View log")
        self.wait_for(lambda: self.visible("#log") and self.find("#log").text.strip(),
                      "the run's log")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} FRESHET_BINARY")
    freshet_binary = sys.argv.pop(1)
    unittest.main(argv=[sys.argv[0]])
