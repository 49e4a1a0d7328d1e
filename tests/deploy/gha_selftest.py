#!/usr/bin/python3
"""Self-tests for gha.py and fake_github.py on small synthetic workflows.

Run: /usr/bin/python3 -m unittest tests/deploy/gha_selftest.py   (or run this file)
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gha  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402


class ExpressionTest(unittest.TestCase):
    """The evaluator on its own."""

    def setUp(self):
        self.ev = gha.Evaluator({
            "env": {"EMPTY": "", "NAME": "prod"},
            "github": {"event": {"pull_request": {"number": 7, "labels": [
                {"name": "refresh"}, {"name": "Docs"}]}}},
            "steps": {"dump-step": {"outputs": {"cache-hit": "false", "size": "12"}}},
        })

    def check(self, expr, expected):
        with self.subTest(expr=expr):
            self.assertEqual(self.ev.evaluate(expr), expected)

    def test_or_and_return_operand_values(self):
        self.check("env.EMPTY || 'fallback'", "fallback")
        self.check("env.NAME || 'fallback'", "prod")
        self.check("env.MISSING || 0 || null", None)
        self.check("env.NAME && 'yes'", "yes")
        self.check("env.EMPTY && 'yes'", "")
        self.check("github.event.pull_request.number == 7 && 'pr' || 'push'", "pr")

    def test_loose_equality_and_ordering(self):
        self.check("1 == '1'", True)
        self.check("'1.0' == 1", True)
        self.check("true == 1", True)
        self.check("'true' == true", False)  # 'true' -> NaN
        self.check("null == 0", True)
        self.check("null == ''", True)
        self.check("'PROD' == env.NAME", True)
        self.check("'abc' != 'ABC'", False)
        self.check("steps.dump-step.outputs.size > 9", True)
        self.check("'b' > 'A'", True)
        self.check("fromJSON('[1]') == fromJSON('[1]')", False)
        self.check("!env.EMPTY", True)
        self.check("!(1 == 2) && (3 >= 3)", True)

    def test_literals(self):
        self.check("'it''s'", "it's")
        self.check("0xff", 255)
        self.check("-2.5", -2.5)
        self.check("1e3", 1000.0)
        self.check("null", None)

    def test_functions(self):
        self.check("contains(github.event.pull_request.labels.*.name, 'docs')", True)
        self.check("contains('Hello world', 'WORLD')", True)
        self.check("contains(fromJSON('[\"a\", 2]'), '2')", True)
        self.check("startsWith('refs/heads/main', 'refs/HEADS/')", True)
        self.check("endsWith('x.deb', '.DEB')", True)
        self.check("format('{0} {{literal}} {1}', 'a', 3)", "a {literal} 3")
        self.check("join(fromJSON('[1, true, \"x\"]'), '+')", "1+true+x")
        self.check("join('single')", "single")
        self.check("fromJSON('{\"a\": {\"b\": [10, 20]}}').a.b[1]", 20)
        self.check("fromJSON('true')", True)
        self.check("toJSON(fromJSON('{\"k\": 1}'))", '{\n  "k": 1\n}')
        self.check("steps['dump-step'].outputs['cache-hit']", "false")
        self.check("github.event.missing.deeper", None)
        self.check("FORMAT('{0}', 1)", "1")

    def test_errors_name_the_culprit(self):
        with self.assertRaisesRegex(gha.ExpressionError, "Unrecognized named-value: 'secretz'"):
            self.ev.evaluate("secretz.TOKEN")
        with self.assertRaisesRegex(gha.ExpressionError, "Unrecognized function: 'lower'"):
            self.ev.evaluate("lower('A')")
        with self.assertRaisesRegex(gha.ExpressionError, "format string is invalid"):
            self.ev.evaluate("format('{1}', 'a')")
        with self.assertRaisesRegex(gha.ExpressionError, "Unexpected"):
            self.ev.evaluate("1 ==")
        with self.assertRaisesRegex(gha.ExpressionError, "not closed"):
            self.ev.render("x ${{ env.NAME ")

    def test_render_and_condition(self):
        self.assertEqual(self.ev.render("n=${{ github.event.pull_request.number }}!"), "n=7!")
        self.assertEqual(self.ev.render("${{ 3 }}"), 3)
        self.assertEqual(self.ev.render("${{ '}}' }}"), "}}")
        self.assertTrue(self.ev.condition("env.NAME == 'prod'"))
        self.assertTrue(self.ev.condition("${{ env.NAME == 'prod' }}"))
        failing = gha.Evaluator({"env": {}}, status=lambda: "failure")
        self.assertFalse(failing.condition("true"))  # implicit success() &&
        self.assertFalse(failing.condition(None))
        self.assertTrue(failing.condition("failure()"))
        self.assertTrue(failing.condition("always()"))

    def test_hash_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            ev = gha.Evaluator({}, workspace=tmp)
            self.assertEqual(ev.evaluate("hashFiles('**/*.lock')"), "")
            Path(tmp, "a").mkdir()
            Path(tmp, "a", "x.lock").write_text("1")
            first = ev.evaluate("hashFiles('**/*.lock')")
            self.assertEqual(len(first), 64)
            Path(tmp, "a", "x.lock").write_text("2")
            self.assertNotEqual(ev.evaluate("hashFiles('**/*.lock')"), first)
            self.assertEqual(ev.evaluate("hashFiles('**/*.lock', '!a/x.lock')"), "")


class WorkflowCase(unittest.TestCase):
    """Base: a temporary workspace and a helper to run a workflow text."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="gha-selftest-"))
        self.workspace = self.tmp / "ws"
        self.workspace.mkdir()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_workflow(self, text, job=None, **kwargs):
        path = self.tmp / "workflow.yml"
        path.write_text(textwrap.dedent(text))
        kwargs.setdefault("event_name", "push")
        return gha.Harness(self.workspace, **kwargs).run(path, job)

    def write_action(self, directory, text):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "action.yml").write_text(textwrap.dedent(text))
        return directory


class StepSemanticsTest(WorkflowCase):
    def test_env_precedence_and_minimal_base(self):
        os.environ["GHA_SELFTEST_FROM_CALLER"] = "leaky"
        try:
            result = self.run_workflow("""
                on: push
                env: {A: workflow, B: workflow, C: workflow, FLAG: yes, WHEN: 1:30}
                jobs:
                  j:
                    runs-on: ubuntu-latest
                    env: {B: job, C: job, FROM_ENV: "${{ env.A }}-seen"}
                    steps:
                      - run: |
                          echo "A=$A B=$B C=$C $FROM_ENV flag=$FLAG when=$WHEN"
                          echo "caller=${GHA_SELFTEST_FROM_CALLER:-unset} ci=$CI actions=$GITHUB_ACTIONS"
                          echo "os=$RUNNER_OS ws=$GITHUB_WORKSPACE event=$GITHUB_EVENT_NAME"
                          test -z "${GITHUB_TOKEN:-}"
                        env: {C: step}
                      - run: echo "ctx=${{ env.C }}"
            """)
        finally:
            del os.environ["GHA_SELFTEST_FROM_CALLER"]
        job = result.job("j")
        self.assertEqual(job.result, "success", result.format())
        log = job.steps[0].log
        self.assertIn("A=workflow B=job C=step workflow-seen flag=yes when=1:30", log)
        self.assertIn("caller=unset ci=true actions=true", log)
        self.assertIn(f"os=Linux ws={self.workspace} event=push", log)
        self.assertIn("ctx=job", job.steps[1].log)

    def test_runner_files_multiline_and_outputs(self):
        result = self.run_workflow("""
            on: [push]
            jobs:
              j:
                runs-on: ubuntu-latest
                steps:
                  - id: produce
                    run: |
                      echo "GREETING=hello=world" >> "$GITHUB_ENV"
                      { echo "NOTES<<EOF"; echo "line one"; echo "line two"; echo "EOF"; } >> "$GITHUB_ENV"
                      echo "count=3" >> "$GITHUB_OUTPUT"
                      printf 'report<<END\\na\\nb\\nEND\\n' >> "$GITHUB_OUTPUT"
                      mkdir -p "$RUNNER_TEMP/bin"
                      printf '#!/bin/sh\\necho from-path\\n' > "$RUNNER_TEMP/bin/mytool"
                      chmod +x "$RUNNER_TEMP/bin/mytool"
                      echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
                      echo "## Step summary" >> "$GITHUB_STEP_SUMMARY"
                  - name: Consume ${{ steps.produce.outputs.count }}
                    if: steps.produce.outputs.count > 2
                    env:
                      REPORT: ${{ steps.produce.outputs.report }}
                    run: |
                      echo "greeting=$GREETING ctx=${{ env.GREETING }}"
                      echo "notes=[$NOTES]"
                      echo "report=[$REPORT]"
                      mytool
                  - if: steps.produce.outputs.count == 4
                    run: echo never
        """)
        job = result.job("j")
        self.assertEqual(job.result, "success", result.format())
        self.assertEqual(job.step("produce").outputs, {"count": "3", "report": "a\nb"})
        consume = job.step("Consume 3")
        self.assertIn("greeting=hello=world ctx=hello=world", consume.log)
        self.assertIn("notes=[line one\nline two]", consume.log)
        self.assertIn("report=[a\nb]", consume.log)
        self.assertIn("from-path", consume.log)
        self.assertEqual(job.steps[2].outcome, "skipped")
        self.assertEqual(result.summary, "## Step summary\n")

    def test_failure_always_and_continue_on_error(self):
        result = self.run_workflow("""
            on: push
            jobs:
              j:
                runs-on: ubuntu-latest
                steps:
                  - id: flaky
                    continue-on-error: true
                    run: exit 3
                  - run: echo "after flaky ${{ steps.flaky.outcome }}/${{ steps.flaky.conclusion }}"
                  - id: broken
                    run: |
                      echo "::error file=x.sh,line=2::it broke"
                      false
                      echo unreachable
                  - name: skipped by default
                    run: echo no
                  - name: on failure
                    if: failure() && steps.broken.outcome == 'failure'
                    run: echo "job status ${{ job.status }}"
                  - name: always
                    if: always()
                    run: echo always
                  - name: explicit true still needs success
                    if: true
                    run: echo no
        """)
        job = result.job("j")
        self.assertEqual(job.result, "failure")
        flaky = job.step("flaky")
        self.assertEqual((flaky.outcome, flaky.conclusion, flaky.exit_code), ("failure", "success", 3))
        self.assertIn("after flaky failure/success", job.steps[1].log)
        self.assertNotIn("unreachable", job.step("broken").log)
        self.assertEqual(job.step("skipped by default").outcome, "skipped")
        self.assertIn("job status failure", job.step("on failure").log)
        self.assertEqual(job.step("always").outcome, "success")
        self.assertEqual(job.step("explicit true still needs success").outcome, "skipped")
        self.assertEqual([(a.level, a.message, a.properties.get("line")) for a in result.annotations],
                         [("error", "Process completed with exit code 3.", None),
                          ("error", "it broke", "2"),
                          ("error", "Process completed with exit code 1.", None)])
        self.assertEqual(result.annotations[0].step, "Run exit 3")

    def test_shells_defaults_and_working_directory(self):
        (self.workspace / "sub").mkdir()
        result = self.run_workflow("""
            on: push
            defaults:
              run: {shell: sh}
            jobs:
              j:
                runs-on: ubuntu-latest
                defaults:
                  run: {working-directory: sub}
                steps:
                  - run: echo "cwd=$(basename "$PWD")"
                  - shell: bash
                    run: false | true
                  - shell: python
                    working-directory: .
                    run: import os; print('py', os.path.basename(os.getcwd()))
        """)
        job = result.job("j")
        self.assertIn("cwd=sub", job.steps[0].log)
        self.assertEqual(job.steps[1].exit_code, 1)  # pipefail with shell: bash
        self.assertEqual(job.steps[2].outcome, "skipped")
        result = self.run_workflow("""
            on: push
            jobs:
              j:
                runs-on: ubuntu-latest
                steps:
                  - run: false | true
                  - shell: python
                    run: import os; print('py', os.path.basename(os.getcwd()))
        """)
        self.assertEqual(result.job("j").result, "success", result.format())  # no pipefail by default
        self.assertIn("py ws", result.job("j").steps[1].log)

    def test_timeout_is_enforced(self):
        started = time.monotonic()
        result = self.run_workflow("""
            on: push
            jobs:
              j:
                runs-on: ubuntu-latest
                steps:
                  - timeout-minutes: 0.01
                    run: sleep 30
                  - if: always()
                    run: echo cleanup
        """)
        self.assertLess(time.monotonic() - started, 10)
        job = result.job("j")
        self.assertTrue(job.steps[0].timed_out)
        self.assertEqual((job.result, job.steps[1].outcome), ("failure", "success"))

    def test_background_process_does_not_block_and_is_stopped(self):
        started = time.monotonic()
        result = self.run_workflow("""
            on: push
            jobs:
              j:
                steps:
                  - id: bg
                    run: |
                      sleep 60 &
                      echo "pid=$!" >> "$GITHUB_OUTPUT"
                      echo started
        """)
        self.assertLess(time.monotonic() - started, 8)
        step = result.job("j").step("bg")
        self.assertEqual(step.outcome, "success")
        with self.assertRaises(ProcessLookupError):  # killed at job end, as GitHub does
            os.kill(int(step.outputs["pid"]), 0)

    def test_workflow_dispatch_inputs_and_environment(self):
        result = self.run_workflow("""
            on:
              workflow_dispatch:
                inputs:
                  target: {type: choice, options: [staging, production], default: staging}
                  dry-run: {type: boolean, default: true}
            jobs:
              deploy:
                runs-on: ubuntu-latest
                environment: ${{ inputs.target }}
                steps:
                  - run: echo "to=${{ inputs.target }} dry=${{ inputs.dry-run }} ev=${{ github.event.inputs.target }}"
                  - if: ${{ !inputs.dry-run }}
                    run: echo deploying
        """, event_name="workflow_dispatch", inputs={"target": "production", "dry-run": "false"})
        job = result.job("deploy")
        self.assertEqual((job.result, job.environment), ("success", "production"))
        self.assertIn("to=production dry=false ev=production", job.steps[0].log)
        self.assertEqual(job.steps[1].outcome, "success")
        with self.assertRaisesRegex(gha.WorkflowError, "does not run on 'push'"):
            self.run_workflow("on: workflow_dispatch\njobs: {j: {steps: [{run: 'true'}]}}")

    def test_expression_error_fails_step_loudly(self):
        result = self.run_workflow("""
            on: push
            jobs:
              j:
                runs-on: ubuntu-latest
                steps:
                  - run: echo "${{ matrx.os }}"
        """)
        job = result.job("j")
        self.assertEqual(job.result, "failure")
        self.assertIn("Unrecognized named-value: 'matrx'", job.steps[0].log)
        self.assertIn("matrx", result.annotations[0].message)


class ActionsTest(WorkflowCase):
    ACTION = """
        name: setup
        inputs:
          version: {description: v, required: true}
          prefix: {description: p, default: "${{ github.repository }}-pre"}
        outputs:
          path: {description: p, value: "${{ steps.install.outputs.path }}"}
        runs:
          using: composite
          steps:
            - id: install
              shell: bash
              run: |
                echo "installing ${{ inputs.version }} with ${{ inputs.prefix }} from $GITHUB_ACTION_PATH"
                echo "path=/opt/${{ inputs.version }}" >> "$GITHUB_OUTPUT"
                echo "TOOL_HOME=/opt/tool" >> "$GITHUB_ENV"
            - if: inputs.version == 'broken'
              shell: bash
              run: exit 1
    """

    def test_composite_inputs_defaults_outputs(self):
        mapped = self.write_action(self.tmp / "actions" / "setup", self.ACTION)
        self.write_action(self.workspace / ".github" / "local", self.ACTION)
        result = self.run_workflow("""
            on: push
            jobs:
              j:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/checkout@v4
                  - id: setup
                    uses: freshet/freshet/deploy/github/setup@v1
                    with: {version: "1.${{ 2 }}"}
                  - run: echo "got ${{ steps.setup.outputs.path }} home=$TOOL_HOME"
                  - id: local
                    uses: ./.github/local
                    with: {version: broken, prefix: mine}
                  - if: always()
                    run: echo "local=${{ steps.local.outcome }}"
        """, action_map={"freshet/freshet/deploy/github/setup": mapped},
            stand_ins={"actions/checkout": gha.checkout_noop}, github={"repository": "o/r"})
        job = result.job("j")
        self.assertEqual(job.result, "failure")
        setup = job.step("setup")
        self.assertEqual((setup.kind, setup.outcome, setup.outputs), ("composite", "success", {"path": "/opt/1.2"}))
        self.assertIn(f"installing 1.2 with o/r-pre from {mapped.resolve()}", setup.log)
        self.assertEqual(job.steps[0].kind, "stand-in")
        self.assertIn("got /opt/1.2 home=/opt/tool", job.steps[2].log)
        self.assertEqual(job.step("local").outcome, "failure")
        self.assertIn("with mine", job.step("local").log)
        self.assertIn("local=failure", job.steps[4].log)

    def test_composite_has_no_secrets_context(self):
        action = self.write_action(self.tmp / "a", """
            runs:
              using: composite
              steps:
                - {shell: bash, run: "echo ${{ secrets.X }}"}
        """)
        result = self.run_workflow("""
            on: push
            jobs:
              j:
                steps: [{uses: me/a@v1}]
        """, action_map={"me/a": action}, secrets={"X": "y"})
        self.assertIn("Unrecognized named-value: 'secrets'", result.job("j").steps[0].log)

    def test_unknown_uses_fails_loudly(self):
        with self.assertRaisesRegex(gha.WorkflowError, "actions/setup-node@v4"):
            self.run_workflow("""
                on: push
                jobs:
                  j:
                    steps:
                      - run: echo first
                      - uses: actions/setup-node@v4
            """)
        with self.assertRaisesRegex(gha.WorkflowError, "not supported"):
            self.run_workflow("""
                on: push
                jobs:
                  j:
                    strategy: {matrix: {os: [a, b]}}
                    steps: [{run: 'true'}]
            """)

    def test_stand_ins_cache_and_artifacts(self):
        (self.workspace / "out").mkdir()
        (self.workspace / "out" / "report.txt").write_text("r")
        result = self.run_workflow("""
            on: push
            jobs:
              j:
                steps:
                  - id: cache
                    uses: actions/cache@v4
                    with: {path: x, key: "k-${{ hashFiles('out/*') }}"}
                  - if: steps.cache.outputs.cache-hit != 'true'
                    run: echo miss
                  - uses: actions/upload-artifact@v4
                    with: {name: reports, path: out/*.txt}
        """, stand_ins={"actions/cache": gha.cache_miss, "actions/upload-artifact": gha.upload_artifact})
        job = result.job("j")
        self.assertEqual(job.result, "success", result.format())
        self.assertRegex(job.step("cache").log, r"Cache not found for input keys: k-[0-9a-f]{64}")
        self.assertEqual(job.steps[1].outcome, "success")
        self.assertEqual((result.artifacts_dir / "reports" / "report.txt").read_text(), "r")


class SecretsTest(WorkflowCase):
    def test_masking_and_leak_detection(self):
        workflow = """
            on: push
            jobs:
              j:
                outputs:
                  token: ${{ steps.s.outputs.t }}
                  plain: ${{ steps.s.outputs.p }}
                steps:
                  - id: s
                    env: {PASSWORD: "${{ secrets.DB_PASSWORD }}"}
                    run: |
                      echo "using the password"
                      echo "::add-mask::derived-$PASSWORD-value"
                      echo "t=$PASSWORD" >> "$GITHUB_OUTPUT"
                      echo "p=ok" >> "$GITHUB_OUTPUT"
                      echo "derived derived-$PASSWORD-value" | sed "s/$PASSWORD/X/"
                      %s
        """
        clean = self.run_workflow(workflow % "true", secrets={"DB_PASSWORD": "hunter2secret"})
        self.assertFalse(clean.secret_leaked, clean.leaks)
        self.assertEqual(clean.job("j").outputs, {"plain": "ok"})  # secret output skipped
        self.assertIn("derived derived-X-value", clean.job("j").steps[0].log)
        leaky = self.run_workflow(workflow % 'echo "pw is $PASSWORD"; echo "derived-$PASSWORD-value"',
                                  secrets={"DB_PASSWORD": "hunter2secret"})
        log = leaky.job("j").steps[0].log
        self.assertTrue(leaky.secret_leaked)
        self.assertEqual({leak.secret for leak in leaky.leaks}, {"DB_PASSWORD"})
        self.assertNotIn("hunter2secret", log)
        self.assertIn("pw is ***", log)
        self.assertNotIn("derived-", log.split("pw is")[1])
        self.assertIn("hunter2secret", leaky.job("j").steps[0].raw_log)


class NeedsTest(WorkflowCase):
    WORKFLOW = """
        on: pull_request
        jobs:
          build:
            runs-on: ubuntu-latest
            outputs: {version: "${{ steps.v.outputs.version }}"}
            steps:
              - id: v
                run: echo "version=1.4" >> "$GITHUB_OUTPUT"
          test:
            needs: build
            runs-on: ubuntu-latest
            steps:
              - run: |
                  echo "testing ${{ needs.build.outputs.version }} on ${{ github.head_ref }}"
                  exit ${{ github.event.pull_request.number == 13 && 1 || 0 }}
          deploy:
            needs: [build, test]
            environment: production
            runs-on: ubuntu-latest
            steps: [{run: echo deploy}]
          report:
            needs: deploy
            if: always()
            runs-on: ubuntu-latest
            steps:
              - run: echo "deploy=${{ needs.deploy.result }}"
          unrelated:
            runs-on: ubuntu-latest
            steps: [{run: echo unrelated}]
    """

    def event(self, number):
        return {"number": number, "pull_request": {"number": number, "head": {"ref": "feature"},
                                                   "base": {"ref": "main"}}}

    def test_chain_runs_in_order(self):
        result = self.run_workflow(self.WORKFLOW, job="report", event_name="pull_request",
                                   event=self.event(12))
        self.assertEqual(list(result.jobs), ["build", "test", "deploy", "report"])
        self.assertTrue(result.ok, result.format())
        self.assertIn("testing 1.4 on feature", result.job("test").steps[0].log)
        self.assertEqual(result.job("deploy").environment, "production")
        self.assertIn("deploy=success", result.job("report").steps[0].log)

    def test_failed_need_skips_dependents(self):
        result = self.run_workflow(self.WORKFLOW, job="report", event_name="pull_request",
                                   event=self.event(13))
        self.assertEqual({k: j.result for k, j in result.jobs.items()},
                         {"build": "success", "test": "failure", "deploy": "skipped",
                          "report": "success"})
        self.assertIn("did not succeed", result.job("deploy").reason)
        self.assertIn("deploy=skipped", result.job("report").steps[0].log)
        self.assertFalse(result.ok)

    def test_single_job_with_given_needs(self):
        path = self.tmp / "w.yml"
        path.write_text(textwrap.dedent(self.WORKFLOW))
        harness = gha.Harness(self.workspace, event_name="pull_request", event=self.event(1))
        result = harness.run(path, "test", needs=False,
                             needs_results={"build": {"result": "success", "outputs": {"version": "9"}}})
        self.assertEqual(list(result.jobs), ["test"])
        self.assertIn("testing 9 on feature", result.job("test").steps[0].log)


class FakeGitHubTest(WorkflowCase):
    def call(self, api, method, path, body=None, token="t0ken", scheme="Bearer"):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(api.url + path, data=data, method=method)
        if token:
            request.add_header("Authorization", f"{scheme} {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                raw = response.read()
                return response.status, dict(response.headers), json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")

    def test_comment_api_sticky_pattern_auth_pagination(self):
        downloads = self.tmp / "dl"
        downloads.mkdir()
        (downloads / "freshet.deb").write_bytes(b"DEB")
        with FakeGitHub(token="t0ken", download_dir=downloads) as api:
            for n in range(3):
                api.seed_comment("o", "r", 5, f"chatter {n}", user="alice")
            base = "/repos/o/r/issues/5/comments"
            self.assertEqual(self.call(api, "GET", base, token=None)[0], 401)
            self.assertEqual(self.call(api, "GET", base, token="wrong")[0], 401)
            status, _, made = self.call(api, "POST", base, {"body": "<!-- freshet -->\nv1"}, scheme="token")
            self.assertEqual((status, made["user"]["login"]), (201, "github-actions[bot]"))
            self.assertIn("#issuecomment-", made["html_url"])
            status, headers, page1 = self.call(api, "GET", base + "?per_page=2")
            self.assertEqual((status, len(page1)), (200, 2))
            self.assertIn('rel="next"', headers["Link"])
            next_url = headers["Link"].split(";")[0].strip("<>")
            status, headers, page2 = self.call(api, "GET", next_url[len(api.url):])
            self.assertNotIn('rel="next"', headers.get("Link", ""))
            mine = [c for c in page1 + page2 if c["body"].startswith("<!-- freshet -->")]
            self.assertEqual([c["id"] for c in mine], [made["id"]])
            status, _, patched = self.call(api, "PATCH", f"/repos/o/r/issues/comments/{made['id']}",
                                           {"body": "<!-- freshet -->\nv2"})
            self.assertEqual((status, patched["body"]), (200, "<!-- freshet -->\nv2"))
            self.assertEqual(self.call(api, "PATCH", "/repos/o/r/issues/comments/1", {"body": "x"})[0], 404)
            self.assertEqual(self.call(api, "PATCH", f"/repos/o/other/issues/comments/{made['id']}",
                                       {"body": "x"})[0], 404)
            self.assertEqual(self.call(api, "POST", base, {"nobody": 1})[0], 422)
            self.assertEqual(self.call(api, "DELETE", f"/repos/o/r/issues/comments/{made['id']}")[0], 204)
            self.assertEqual(len(api.comments("o", "r", 5)), 3)
            self.assertEqual(len(api.requests_to("PATCH")), 3)
            self.assertEqual(api.requests_to("POST")[0].json, {"body": "<!-- freshet -->\nv1"})
            with urllib.request.urlopen(api.url + "/download/freshet.deb", timeout=5) as response:
                self.assertEqual(response.read(), b"DEB")
            self.assertEqual(self.call(api, "GET", "/download/nope.deb")[0], 404)

    def test_workflow_posts_then_updates_sticky_comment(self):
        workflow = """
            on: pull_request
            jobs:
              comment:
                runs-on: ubuntu-latest
                steps:
                  - env:
                      GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}
                      URL: ${{ github.api_url }}/repos/${{ github.repository }}/issues/${{ github.event.pull_request.number }}/comments
                    run: |
                      auth="Authorization: Bearer $GH_TOKEN"
                      id=$(curl -fsS -H "$auth" "$URL?per_page=100" |
                           jq -r '[.[] | select(.user.login == "github-actions[bot]" and (.body | startswith("<!-- sticky -->")))][0].id // empty')
                      body=$(jq -n --arg b "$(printf '<!-- sticky -->\\nrun %s' "${{ github.run_id }}")" '{body: $b}')
                      if [ -n "$id" ]; then
                        curl -fsS -X PATCH -H "$auth" -d "$body" "$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/issues/comments/$id" >/dev/null
                        echo "updated $id"
                      else
                        curl -fsS -X POST -H "$auth" -d "$body" "$URL" >/dev/null
                        echo created
                      fi
        """
        with FakeGitHub(token="ghs_sticky") as api:
            api.seed_comment("o", "r", 9, "<!-- sticky -->\nnot mine", user="mallory")
            logs = []
            for run_id in ("1", "2"):
                result = self.run_workflow(
                    workflow, event_name="pull_request", event={"pull_request": {"number": 9}},
                    secrets={"GITHUB_TOKEN": "ghs_sticky"},
                    github={"api_url": api.url, "repository": "o/r", "run_id": run_id})
                self.assertTrue(result.ok, result.format())
                self.assertFalse(result.secret_leaked)
                logs.append(result.job("comment").steps[0].log)
            self.assertIn("created", logs[0])
            self.assertRegex(logs[1], r"updated \d+")
            bodies = [(c["user"]["login"], c["body"]) for c in api.comments("o", "r", 9)]
            self.assertEqual(bodies, [("mallory", "<!-- sticky -->\nnot mine"),
                                      ("github-actions[bot]", "<!-- sticky -->\nrun 2")])


class CliTest(WorkflowCase):
    def test_cli_exit_codes(self):
        path = self.tmp / "w.yml"
        path.write_text("on: push\njobs:\n  ok: {steps: [{run: 'echo ${{ secrets.S }}'}]}\n"
                        "  bad: {steps: [{run: 'exit 4'}]}\n")
        import contextlib
        import io
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = gha.main([str(path), "--job", "ok", "--secret", "S=abcdefgh",
                             "--workspace", str(self.workspace)])
        self.assertEqual(code, 1)  # the secret was echoed: a leak fails the CLI run
        self.assertIn("| ***", out.getvalue())
        self.assertIn("SECRET LEAKED: ['S']", out.getvalue())
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(gha.main([str(path), "--job", "bad", "--workspace", str(self.workspace)]), 1)
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(gha.main([str(path), "--job", "nope", "--workspace", str(self.workspace)]), 2)


if __name__ == "__main__":
    unittest.main()
