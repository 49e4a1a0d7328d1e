// The freshet dashboard: lists the jobs and runs of `freshet serve` through
// its /v1 API, triggers and cancels runs, and follows running runs through
// their event streams. The token lives in sessionStorage only (never in the
// URL or localStorage) and goes in the Authorization header of every call,
// which is why the event streams are read with fetch() rather than
// EventSource. Everything is built with DOM calls and textContent: no
// innerHTML, no external resources (the service's CSP forbids them).
"use strict";

(() => {
  const kTokenKey = "freshet.token";
  const kRefreshMs = 3000;
  const kRunsShown = 50;
  const kMaxStreams = 3;  // browsers allow ~6 connections per host; polls need some
  const kActive = new Set(["queued", "running"]);

  const state = {
    token: null,
    generation: 0,  // bumped on sign-in/out: answers for an older token are dropped
    jobs: [],
    runs: [],
    selected: null,    // the run id whose details are open
    detailsRun: null,  // its latest JSON
    reports: new Map(),  // run id -> {report} | {note} | {pending: true}
    streams: new Map(),  // run id -> AbortController
    timer: null,
    refreshing: false,
    refreshAgain: false,
    refreshError: null,
    actionError: null,
    triggerRefused: null,  // the 403 message once this token may not trigger
    pendingJobs: new Set(),
    pendingCancels: new Set(),
    jobMessages: new Map(),
    signatures: new WeakMap(),  // row -> what it was built from
  };

  const $ = (id) => document.getElementById(id);

  // ---- formatting ---------------------------------------------------------

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children)
      if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function time(iso) {
    if (!iso) return "—";
    return el("time", {datetime: iso}, iso.slice(0, 19).replace("T", " ") + " UTC");
  }

  function clock(seconds) {
    const total = Math.round(seconds);
    const h = Math.floor(total / 3600), m = Math.floor(total / 60) % 60, s = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    return seconds < 60 ? `${seconds.toFixed(1)} s` : clock(seconds);
  }

  const count = (n) => Number(n || 0).toLocaleString("en-US");
  const megabytes = (bytes) => (Number(bytes || 0) / 1e6).toFixed(1);
  const percent = (fraction) => `${Math.floor(fraction * 100)}%`;

  function badge(value) {
    return el("span", {class: "badge", "data-state": value}, value);
  }

  // ---- the API --------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function call(method, path, accept = "application/json") {
    const generation = state.generation;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: {Authorization: `Bearer ${state.token}`, Accept: accept},
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, `the service cannot be reached (${error.message})`);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text.trim() || response.statusText;
      try {
        message = JSON.parse(text).error || message;
      } catch (_) {
        // not JSON: keep the text
      }
      if (response.status === 401 && generation === state.generation) tokenRefused(message);
      throw new ApiError(response.status, message);
    }
    return text;
  }

  async function callJson(method, path) {
    return JSON.parse(await call(method, path));
  }

  function describe(error) {
    if (!(error instanceof ApiError)) return String(error);
    if (error.status === 0) return error.message;
    return `${error.message} (HTTP ${error.status})`;
  }

  // ---- signing in and out ---------------------------------------------------

  function signIn(token) {
    state.token = token;
    state.generation += 1;
    $("token-form").hidden = true;
    $("sign-in-prompt").hidden = true;
    $("session").hidden = false;
    $("main").hidden = false;
    state.refreshError = state.actionError = null;
    renderError();
    scheduleRefresh(0);
  }

  function signOut(message) {
    sessionStorage.removeItem(kTokenKey);
    state.token = null;
    state.generation += 1;
    clearTimeout(state.timer);
    for (const controller of state.streams.values()) controller.abort();
    state.streams.clear();
    Object.assign(state, {
      jobs: [], runs: [], selected: null, detailsRun: null, triggerRefused: null,
      refreshError: null, actionError: message || null,
    });
    state.reports.clear();
    state.pendingJobs.clear();
    state.pendingCancels.clear();
    state.jobMessages.clear();
    $("jobs").replaceChildren();
    $("runs").replaceChildren();
    $("details").hidden = true;
    $("log").hidden = true;
    $("main").hidden = true;
    $("session").hidden = true;
    $("token-form").hidden = false;
    $("sign-in-prompt").hidden = false;
    renderError();
    $("token").focus();
  }

  function tokenRefused(message) {
    signOut(`Token refused: ${message}. Enter another token.`);
  }

  // ---- refreshing -------------------------------------------------------------

  function scheduleRefresh(delay) {
    clearTimeout(state.timer);
    state.timer = setTimeout(refresh, delay);
  }

  async function refresh() {
    if (!state.token) return;
    if (state.refreshing) {
      state.refreshAgain = true;
      return;
    }
    state.refreshing = true;
    const generation = state.generation;
    try {
      const [jobs, runs] = await Promise.all([
        callJson("GET", "/v1/jobs"),
        callJson("GET", `/v1/runs?limit=${kRunsShown}`),
      ]);
      if (generation !== state.generation) return;
      state.jobs = jobs.jobs;
      state.runs = runs.runs;
      state.refreshError = null;
      for (const [id, entry] of state.reports) if (entry.retry) state.reports.delete(id);
      if (state.selected !== null) {
        const listed = state.runs.find((run) => run.id === state.selected);
        state.detailsRun = listed || (await callJson("GET", `/v1/runs/${state.selected}`));
      }
      if (generation !== state.generation) return;
      render();
      follow();
    } catch (error) {
      if (generation !== state.generation) return;
      state.refreshError = `Cannot refresh: ${describe(error)}`;
      renderError();
    } finally {
      state.refreshing = false;
      if (generation === state.generation && state.token) {
        scheduleRefresh(state.refreshAgain ? 0 : kRefreshMs);
        state.refreshAgain = false;
      }
    }
  }

  // A run's newer JSON (from an action or an event stream).
  function updateRun(run) {
    const index = state.runs.findIndex((known) => known.id === run.id);
    if (index >= 0) state.runs[index] = run;
    else if (!state.runs.length || run.id > state.runs[0].id) state.runs.unshift(run);
    if (state.selected === run.id) state.detailsRun = run;
    render();
  }

  // ---- event streams ------------------------------------------------------------

  // Follows the active runs' event streams, the selected run first.
  function follow() {
    const active = state.runs.filter((run) => kActive.has(run.state)).map((run) => run.id);
    if (state.detailsRun && kActive.has(state.detailsRun.state))
      active.unshift(state.detailsRun.id);  // a duplicate later is skipped: it is followed
    for (const id of active) {
      if (state.streams.size >= kMaxStreams) break;
      if (!state.streams.has(id)) stream(id);
    }
  }

  async function stream(id) {
    const controller = new AbortController();
    const generation = state.generation;
    state.streams.set(id, controller);
    try {
      const response = await fetch(`/v1/runs/${id}/events`, {
        headers: {Authorization: `Bearer ${state.token}`, Accept: "text/event-stream"},
        cache: "no-store",
        signal: controller.signal,
      });
      if (!response.ok || !response.body) return;  // the next refresh shows why
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done || generation !== state.generation) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          serverEvent(block);
        }
      }
    } catch (_) {
      // aborted or dropped: the next refresh starts it again while the run is active
    } finally {
      if (state.streams.get(id) === controller) state.streams.delete(id);
    }
  }

  // One Server-Sent Event: "event: run|end" with the run's JSON as data.
  function serverEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if ((name !== "run" && name !== "end") || !data.length) return;
    updateRun(JSON.parse(data.join("\n")));
    if (name === "end") scheduleRefresh(0);  // the job's last run, the report
  }

  // ---- actions --------------------------------------------------------------------

  async function runNow(job) {
    state.pendingJobs.add(job);
    render();
    try {
      const run = await callJson("POST", `/v1/jobs/${encodeURIComponent(job)}/runs`);
      state.jobMessages.delete(job);  // the new run's row says the rest
      state.actionError = null;
      updateRun(run);
      follow();
    } catch (error) {
      if (error.status === 403) state.triggerRefused = error.message;
      state.jobMessages.set(job, describe(error));
      state.actionError = `Run now (${job}): ${describe(error)}`;
    } finally {
      state.pendingJobs.delete(job);
      render();
    }
  }

  async function cancel(id) {
    state.pendingCancels.add(id);
    render();
    try {
      updateRun(await callJson("POST", `/v1/runs/${id}/cancel`));
      state.actionError = null;
    } catch (error) {
      if (error.status === 403) state.triggerRefused = error.message;
      state.actionError = `Cancel run #${id}: ${describe(error)}`;
    } finally {
      state.pendingCancels.delete(id);
      render();
    }
  }

  async function openRun(id) {
    if (state.selected !== id) {
      $("log").hidden = true;
      $("log").textContent = "";
      $("show-log").textContent = "View log";
    }
    state.selected = id;
    state.detailsRun = state.runs.find((run) => run.id === id) || null;
    render();
    $("details").hidden = false;
    $("details-heading").focus();
    if (!state.detailsRun) {
      try {
        state.detailsRun = await callJson("GET", `/v1/runs/${id}`);
      } catch (error) {
        state.actionError = `Run #${id}: ${describe(error)}`;
      }
      render();
    }
    follow();
  }

  function closeDetails() {
    state.selected = null;
    state.detailsRun = null;
    $("details").hidden = true;
    $("log").hidden = true;
    render();
  }

  async function showLog() {
    const id = state.selected;
    if (id === null) return;
    const log = $("log");
    try {
      const text = await call("GET", `/v1/runs/${id}/log`, "text/plain");
      if (state.selected !== id) return;
      log.textContent = text || "(the log is empty)";
      log.hidden = false;
      $("show-log").textContent = "Reload log";
    } catch (error) {
      state.actionError = `Log of run #${id}: ${describe(error)}`;
      renderError();
    }
  }

  async function loadReport(id) {
    state.reports.set(id, {pending: true});
    try {
      state.reports.set(id, {report: await callJson("GET", `/v1/runs/${id}/report`)});
    } catch (error) {
      // 409: not finished after all (a stale list); the next refresh asks again.
      state.reports.set(id, {note: `No report: ${describe(error)}`, retry: error.status === 409});
    }
    render();
  }

  // ---- rendering ------------------------------------------------------------------

  function render() {
    renderJobs();
    renderRuns();
    renderDetails();
    renderError();
  }

  function renderError() {
    const text = [state.actionError, state.refreshError].filter(Boolean).join(" ");
    $("error").hidden = !text;
    if ($("error").textContent !== text) $("error").textContent = text;  // no repeated alerts
  }

  // Updates `tbody` to one row per item, rebuilding only rows whose data
  // changed, and puts the focus back on a rebuilt button.
  function renderRows(tbody, items, keyOf, signatureOf, build) {
    const focused = tbody.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
    const existing = new Map([...tbody.children].map((row) => [row.dataset.key, row]));
    let previous = null;
    for (const item of items) {
      const key = String(keyOf(item));
      const signature = JSON.stringify(signatureOf(item));
      let row = existing.get(key);
      existing.delete(key);
      if (!row || state.signatures.get(row) !== signature) {
        const fresh = build(item);
        fresh.dataset.key = key;
        state.signatures.set(fresh, signature);
        if (row) row.replaceWith(fresh);
        row = fresh;
      }
      const wanted = previous ? previous.nextSibling : tbody.firstChild;
      if (wanted !== row) tbody.insertBefore(row, wanted);
      previous = row;
    }
    for (const row of existing.values()) row.remove();
    if (focused && !tbody.contains(document.activeElement)) {
      const again = [...tbody.querySelectorAll("[data-focus]")].find((b) => b.dataset.focus === focused);
      if (again) again.focus();
    }
  }

  function renderJobs() {
    $("jobs-empty").hidden = state.jobs.length > 0;
    renderRows(
        $("jobs"), state.jobs, (job) => job.name,
        (job) => [job, state.triggerRefused, state.pendingJobs.has(job.name),
                  state.jobMessages.get(job.name)],
        jobRow);
  }

  function jobRow(job) {
    const schedule = job.schedule
        ? el("span", {}, el("code", {"data-schedule": ""}, job.schedule), " ",
             el("span", {"data-time-zone": ""}, job.time_zone))
        : el("span", {class: "hint"}, "manual only");
    const last = job.last_run
        ? el("span", {}, badge(job.last_run.state), " ",
             el("button", {type: "button", class: "link", "data-action": "open",
                           "data-run-id": job.last_run.id, "data-focus": `job-open:${job.name}`,
                           "aria-label": `Run #${job.last_run.id} details`},
                `#${job.last_run.id}`))
        : el("span", {class: "hint"}, "never run");
    const refused = state.triggerRefused;
    const message = state.jobMessages.get(job.name);
    return el("tr", {"data-job": job.name},
              el("th", {scope: "row"}, job.name),
              el("td", {}, job.kind),
              el("td", {}, `${job.from} → ${job.to.join(", ")}`),
              el("td", {}, schedule),
              el("td", {"data-next-run": job.next_run || ""}, time(job.next_run)),
              el("td", {"data-last-state": job.last_run ? job.last_run.state : ""}, last),
              el("td", {},
                 el("button", {type: "button", class: "run-now", "data-action": "run-now",
                               "data-job": job.name, "data-focus": `run-now:${job.name}`,
                               disabled: refused !== null || state.pendingJobs.has(job.name),
                               title: refused || null,
                               "aria-label": `Run now: ${job.name}`},
                    "Run now"),
                 message ? el("span", {class: "job-message", "data-job-message": job.name},
                              message)
                         : null));
  }

  function renderRuns() {
    $("runs-empty").hidden = state.runs.length > 0;
    renderRows(
        $("runs"), state.runs, (run) => run.id,
        (run) => [run, state.selected === run.id, state.triggerRefused,
                  state.pendingCancels.has(run.id)],
        runRow);
  }

  // The progress cell: a <progress> with data-fraction while the fraction is
  // known (1 once succeeded), and the same as text.
  function progressCell(run) {
    const cell = el("td", {class: "progress-cell"});
    const label = `Progress of run ${run.id}`;
    if (run.state === "running" && run.progress) {
      const fraction = run.progress.fraction;
      const eta = run.progress.eta_seconds;
      cell.append(el("progress", {max: 1, value: fraction, "data-fraction": fraction,
                                  "aria-label": label}),
                  el("span", {class: "progress-text"},
                     percent(fraction) + (eta !== null && eta !== undefined ? ` · ETA ${clock(eta)}` : "")));
    } else if (run.state === "running") {
      cell.append(el("progress", {max: 1, "aria-label": label}),
                  el("span", {class: "progress-text"}, run.last_step ? "preparing" : "starting"));
    } else if (run.state === "succeeded") {
      cell.append(el("progress", {max: 1, value: 1, "data-fraction": 1, "aria-label": label}),
                  el("span", {class: "progress-text"}, "100%"));
    } else {
      cell.append(el("span", {class: "hint"}, run.state === "queued" ? "waiting to start" : "—"));
    }
    return cell;
  }

  function runRow(run) {
    const rows = Math.max(run.rows || 0, (run.progress && run.progress.rows) || 0);
    const canCancel = kActive.has(run.state);
    return el("tr", {"data-run-id": run.id, "data-job": run.job, "data-state": run.state,
                     class: state.selected === run.id ? "selected" : null},
              el("th", {scope: "row"},
                 el("button", {type: "button", class: "link", "data-action": "open",
                               "data-run-id": run.id, "data-focus": `open:${run.id}`,
                               "aria-label": `Run #${run.id} details`},
                    `#${run.id}`)),
              el("td", {}, run.job),
              el("td", {}, badge(run.state)),
              el("td", {}, time(run.started_at)),
              el("td", {}, run.started_at ? duration(run.seconds) : "—"),
              el("td", {class: "number"}, count(rows)),
              progressCell(run),
              el("td", {},
                 canCancel
                     ? el("button", {type: "button", "data-action": "cancel", "data-run-id": run.id,
                                     "data-focus": `cancel:${run.id}`,
                                     disabled: state.triggerRefused !== null ||
                                               state.pendingCancels.has(run.id),
                                     title: state.triggerRefused || null,
                                     "aria-label": `Cancel run ${run.id}`},
                          "Cancel")
                     : null));
  }

  function renderDetails() {
    const run = state.detailsRun;
    const box = $("details");
    if (state.selected === null) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    box.dataset.runId = state.selected;
    box.dataset.state = run ? run.state : "";
    $("details-heading").textContent =
        run ? `Run #${run.id} · ${run.job}` : `Run #${state.selected}`;
    const facts = $("details-facts");
    facts.replaceChildren();
    if (!run) return;
    const fact = (name, value) => facts.append(el("dt", {}, name), el("dd", {}, value));
    fact("State", badge(run.state));
    fact("Trigger", `${run.trigger} by ${run.requested_by}`);
    fact("Created", time(run.created_at));
    fact("Started", time(run.started_at));
    fact("Finished", time(run.finished_at));
    fact("Duration", run.started_at ? duration(run.seconds) : "—");
    fact("Targets", (run.targets || []).join(", ") || "—");
    fact("Moved", `${count(run.rows)} rows, ${megabytes(run.bytes)} MB`);
    if (run.last_step && kActive.has(run.state)) fact("Last step", run.last_step);

    $("details-error").hidden = !run.error;
    $("details-error").textContent = run.error ? `Error: ${run.error}` : "";

    // Per-table progress while the run is active.
    const tables = kActive.has(run.state) && run.progress ? run.progress.tables : [];
    $("details-progress-box").hidden = !tables.length;
    $("details-progress").tBodies[0].replaceChildren(...tables.map((table) =>
        el("tr", {"data-table": table.table, "data-table-state": table.state},
           el("th", {scope: "row"}, table.table),
           el("td", {}, badge(table.state)),
           el("td", {class: "number"}, count(table.rows)),
           el("td", {class: "number"}, table.estimated_rows > 0 ? count(table.estimated_rows) : "—"),
           el("td", {class: "number"}, megabytes(table.bytes)))));

    // The report once it has ended.
    let entry = state.reports.get(run.id);
    if (!kActive.has(run.state) && !entry) {
      loadReport(run.id);
      entry = state.reports.get(run.id);
    }
    const report = entry && entry.report;
    $("details-report-box").hidden = !report;
    $("details-report-note").hidden = !(entry && entry.note);
    $("details-report-note").textContent = (entry && entry.note) || "";
    if (report) {
      // Reports differ by kind (sync, restore, migrate up) and a job with
      // several targets has one per target: tables are summed over them, and
      // whether it went well comes from the run when a report does not say.
      const parts = Array.isArray(report) ? report : [report];
      const reportTables = parts.flatMap((part) => part.tables || []);
      const rows = reportTables.reduce((sum, table) => sum + (table.rows || 0), 0);
      const bytes = reportTables.reduce((sum, table) => sum + (table.bytes || 0), 0);
      const ok = parts.every((part) => "ok" in part ? part.ok : run.state === "succeeded");
      const seconds = parts.reduce((sum, part) => sum + (Number(part.seconds) || 0), 0);
      const errors = parts.map((part) => part.error).filter(Boolean).map((error) =>
          typeof error === "string" ? error : (error.message || JSON.stringify(error)));
      $("details-report-summary").textContent =
          `${ok ? "OK" : "FAILED"}: ${reportTables.length} tables, ${count(rows)} rows, ` +
          `${megabytes(bytes)} MB in ${duration(seconds)}` +
          (errors.length ? ` — ${errors.join("; ")}` : "");
      $("details-report").tBodies[0].replaceChildren(...reportTables.map((table) =>
          el("tr", {"data-table": table.table},
             el("th", {scope: "row"}, table.table),
             el("td", {class: "number"}, count(table.rows)),
             el("td", {class: "number"}, megabytes(table.bytes)),
             el("td", {class: "number"}, Number(table.seconds || 0).toFixed(1)))));
    }
  }

  // ---- wiring -----------------------------------------------------------------------

  function onTableClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    const action = button.dataset.action;
    if (action === "run-now") runNow(button.dataset.job);
    else if (action === "cancel") cancel(Number(button.dataset.runId));
    else if (action === "open") openRun(Number(button.dataset.runId));
  }

  function start() {
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      if (!token) return;
      $("token").value = "";
      sessionStorage.setItem(kTokenKey, token);
      signIn(token);
    });
    $("sign-out").addEventListener("click", () => signOut(null));
    $("jobs").addEventListener("click", onTableClick);
    $("runs").addEventListener("click", onTableClick);
    $("close-details").addEventListener("click", closeDetails);
    $("show-log").addEventListener("click", showLog);
    const saved = sessionStorage.getItem(kTokenKey);
    if (saved) signIn(saved);
  }

  start();
})();
