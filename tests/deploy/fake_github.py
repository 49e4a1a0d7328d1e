#!/usr/bin/python3
"""A fake GitHub REST API on loopback, for workflow tests.

Implements the issue-comment endpoints the way api.github.com answers them:

    GET    /repos/{owner}/{repo}/issues/{n}/comments   (per_page, page, Link header)
    POST   /repos/{owner}/{repo}/issues/{n}/comments   {"body": ...} -> 201
    GET    /repos/{owner}/{repo}/issues/comments/{id}
    PATCH  /repos/{owner}/{repo}/issues/comments/{id}  {"body": ...} -> 200
    DELETE /repos/{owner}/{repo}/issues/comments/{id}  -> 204

API routes need `Authorization: Bearer <token>` or `token <token>` (401
otherwise).  `GET /download/<name>` and
`GET /<owner>/<repo>/releases/download/<tag>/<name>` (use the server as
github.server_url) serve files from a directory without auth (a stand-in for
release assets).  Every request is recorded.

    with FakeGitHub(token="t", download_dir=d) as api:
        api.seed_comment("freshet", "freshet", 7, "hello", user="alice")
        ... GITHUB_API_URL=api.url ...
        assert api.comments("freshet", "freshet", 7)[-1]["body"].startswith(...)
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

BOT_LOGIN = "github-actions[bot]"
_ISSUE_COMMENTS = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$")
_COMMENT = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)$")
_DOWNLOAD = re.compile(r"^/download/([^/]+)$")
# A release asset as github.com serves it: /{owner}/{repo}/releases/download/{tag}/{name}.
_RELEASE_ASSET = re.compile(r"^/[^/]+/[^/]+/releases/download/[^/]+/([^/]+)$")


@dataclass
class Request:
    """One recorded request; `json` is the parsed body (None if absent or invalid)."""
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    json: Any = None
    status: int = 0


@dataclass
class _Comment:
    id: int
    owner: str
    repo: str
    issue: int
    body: str
    user: str
    created_at: str
    updated_at: str = field(default="")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub:
    """A threaded fake of api.github.com's issue-comment API on 127.0.0.1."""

    def __init__(self, token: str = "ghs_fake_token", download_dir: str | Path | None = None,
                 bot_login: str = BOT_LOGIN):
        self.token = token
        self.download_dir = Path(download_dir) if download_dir else None
        self.bot_login = bot_login
        self.requests: list[Request] = []
        self._comments: dict[int, _Comment] = {}
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> FakeGitHub:
        """Listen on an ephemeral loopback port and serve in a thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, to use as GITHUB_API_URL (no trailing slash)."""
        port = self._server.server_address[1] if self._server else 0
        return f"http://127.0.0.1:{port}"

    # -- state -----------------------------------------------------------------

    def seed_comment(self, owner: str, repo: str, issue: int, body: str,
                     user: str = "someone") -> dict[str, Any]:
        """Add a pre-existing comment (by another user by default)."""
        with self._lock:
            return self._render(self._add(owner, repo, issue, body, user))

    def comments(self, owner: str, repo: str, issue: int) -> list[dict[str, Any]]:
        """All comments on an issue, oldest first, as the API renders them."""
        with self._lock:
            return [self._render(c) for c in self._issue_comments(owner, repo, issue)]

    def requests_to(self, method: str, pattern: str = "") -> list[Request]:
        """Recorded requests with this method whose path matches the regex."""
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def _add(self, owner: str, repo: str, issue: int, body: str, user: str) -> _Comment:
        self._next_id += 1
        stamp = _now()
        comment = _Comment(self._next_id, owner, repo, int(issue), body, user, stamp, stamp)
        self._comments[comment.id] = comment
        return comment

    def _issue_comments(self, owner: str, repo: str, issue: int) -> list[_Comment]:
        return sorted((c for c in self._comments.values()
                       if (c.owner, c.repo, c.issue) == (owner, repo, int(issue))),
                      key=lambda c: c.id)

    def _find(self, owner: str, repo: str, comment_id: int) -> _Comment | None:
        comment = self._comments.get(comment_id)
        if comment and (comment.owner, comment.repo) == (owner, repo):
            return comment
        return None

    def _render(self, c: _Comment) -> dict[str, Any]:
        api = f"{self.url}/repos/{c.owner}/{c.repo}"
        is_bot = c.user.endswith("[bot]")
        return {
            "id": c.id, "node_id": f"IC_fake{c.id}", "url": f"{api}/issues/comments/{c.id}",
            "html_url": f"https://github.com/{c.owner}/{c.repo}/issues/{c.issue}#issuecomment-{c.id}",
            "issue_url": f"{api}/issues/{c.issue}", "body": c.body,
            "user": {"login": c.user, "id": 41898282 if is_bot else 1000 + len(c.user),
                     "type": "Bot" if is_bot else "User"},
            "created_at": c.created_at, "updated_at": c.updated_at,
            "author_association": "NONE" if is_bot else "MEMBER",
        }

    # -- request handling (called from handler threads) ------------------------

    def handle(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        """Route one request; returns (status, headers, body)."""
        with self._lock:
            self.requests.append(request)
            status, headers, body = self._route(request)
            request.status = status
            return status, headers, body

    def _route(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        download = _DOWNLOAD.match(req.path) or _RELEASE_ASSET.match(req.path)
        if download and req.method in ("GET", "HEAD"):
            return self._download(download.group(1))
        if not self._authorized(req.headers.get("authorization", "")):
            return _json(401, {"message": "Bad credentials",
                               "documentation_url": "https://docs.github.com/rest"})
        listing = _ISSUE_COMMENTS.match(req.path)
        if listing:
            owner, repo, issue = listing.group(1), listing.group(2), int(listing.group(3))
            if req.method == "GET":
                return self._list(req, owner, repo, issue)
            if req.method == "POST":
                return self._create(req, owner, repo, issue)
        single = _COMMENT.match(req.path)
        if single:
            return self._single(req, single.group(1), single.group(2), int(single.group(3)))
        return _not_found()

    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        return scheme.lower() in ("bearer", "token") and value.strip() == self.token

    def _list(self, req: Request, owner: str, repo: str, issue: int) -> tuple[int, dict[str, str], bytes]:
        try:
            per_page = min(max(int(req.query.get("per_page", ["30"])[0]), 1), 100)
            page = max(int(req.query.get("page", ["1"])[0]), 1)
        except ValueError:
            return _json(400, {"message": "Invalid per_page or page"})
        everything = self._issue_comments(owner, repo, issue)
        chunk = everything[(page - 1) * per_page: page * per_page]
        last = max((len(everything) + per_page - 1) // per_page, 1)
        status, headers, body = _json(200, [self._render(c) for c in chunk])
        link = self._link(req.path, per_page, page, last)
        if link:
            headers["Link"] = link
        return status, headers, body

    def _link(self, path: str, per_page: int, page: int, last: int) -> str:
        def url(number: int) -> str:
            return f"{self.url}{path}?{urlencode({'per_page': per_page, 'page': number})}"
        rels = []
        if page > 1:
            rels += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
        if page < last:
            rels += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        return ", ".join(rels)

    def _create(self, req: Request, owner: str, repo: str, issue: int) -> tuple[int, dict[str, str], bytes]:
        body = _body_field(req)
        if body is None:
            return _invalid("body")
        comment = self._add(owner, repo, issue, body, self.bot_login)
        status, headers, payload = _json(201, self._render(comment))
        headers["Location"] = self._render(comment)["url"]
        return status, headers, payload

    def _single(self, req: Request, owner: str, repo: str, comment_id: int) -> tuple[int, dict[str, str], bytes]:
        comment = self._find(owner, repo, comment_id)
        if comment is None:
            return _not_found()
        if req.method == "GET":
            return _json(200, self._render(comment))
        if req.method == "PATCH":
            body = _body_field(req)
            if body is None:
                return _invalid("body")
            comment.body, comment.updated_at = body, _now()
            return _json(200, self._render(comment))
        if req.method == "DELETE":
            del self._comments[comment_id]
            return 204, {}, b""
        return _not_found()

    def _download(self, name: str) -> tuple[int, dict[str, str], bytes]:
        if self.download_dir is None or name.startswith("."):
            return _not_found()
        path = self.download_dir / name
        if not path.is_file():
            return _not_found()
        return 200, {"Content-Type": "application/octet-stream"}, path.read_bytes()


def _json(status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(payload).encode()


def _not_found() -> tuple[int, dict[str, str], bytes]:
    return _json(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})


def _invalid(name: str) -> tuple[int, dict[str, str], bytes]:
    return _json(422, {"message": "Invalid request.",
                       "errors": [{"resource": "IssueComment", "field": name, "code": "missing_field"}]})


def _body_field(req: Request) -> str | None:
    if isinstance(req.json, dict) and isinstance(req.json.get("body"), str):
        return req.json["body"]
    return None


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP into Request objects for FakeGitHub.handle."""

    fake: FakeGitHub
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        request = Request(self.command, parts.path, parse_qs(parts.query),
                          {k.lower(): v for k, v in self.headers.items()}, raw, parsed)
        status, headers, body = self.fake.handle(request)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep test output quiet."""


if __name__ == "__main__":
    import sys
    import time
    fake = FakeGitHub(token=sys.argv[1] if len(sys.argv) > 1 else "ghs_fake_token",
                      download_dir=sys.argv[2] if len(sys.argv) > 2 else None).start()
    print(fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
