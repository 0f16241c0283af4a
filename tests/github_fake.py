"""A GitHub REST server on 127.0.0.1 for the GitHub forge's tests: real HTTP, GitHub's JSON shapes.

It speaks the endpoints the forge uses (repository, pulls list/create/get/update, labels, review
requests, issue comments, commit status and check runs), with GitHub's habits that matter to us:
a `head` filter without the owner is ignored, a second PR for the same head is a 422, every URL it
returns carries its own host, port and `/api/v3` prefix, lists are paginated with `Link` headers.
Faults are injected per method and path: a status with body and headers, a delay, a side effect.

Held to GitHub's published contract (github_contract.py): each request the forge sends and each
answer the fake gives (but for injected faults) is validated against GitHub's OpenAPI description,
and what does not hold is kept in `violations`; answers are shaped in one of the contract's modes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import git
from github_contract import Contract, Mode

TOKEN = "ghp_" + "Zk9q" * 9  # the shape of a real classic token: 40 characters
API = "/api/v3"


@dataclass
class Fault:
    method: str
    path: str  # a regular expression searched in the path (without the query)
    status: int = 0  # 0: answer normally after the delay and side effect
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0  # before doing anything
    late: float = 0.0  # after doing the work, before answering: a write whose answer is lost
    before: Callable[[], None] | None = None


class FakeGitHub:
    def __init__(self, full_name: str = "acme/luminaguard", origin: Path | None = None, *,
                 contract: Contract | None = None, mode: Mode = "default") -> None:
        self.contract = contract or Contract()
        self.mode: Mode = mode
        self.violations: list[str] = []  # what the forge sent, or the fake answered, against the contract
        self.operations: set[tuple[str, str]] = set()  # (path template, method) of each request the forge sent
        self.full_name = full_name
        self.owner, self.name = full_name.split("/")
        self.origin = origin  # a bare repository: PR head SHAs are the pushed commits
        self.tokens = {TOKEN}
        self.pulls: list[dict[str, Any]] = []
        self.comments: list[dict[str, Any]] = []
        self.statuses: dict[str, list[str]] = {}  # sha → commit status states
        self.check_runs: dict[str, list[tuple[str, str | None]]] = {}  # sha → (status, conclusion)
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []  # (method, path?query) of every request
        self.times: list[float] = []  # when each request arrived (time.time())
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self  # type: ignore[attr-defined]
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api = self.base + API

    def __enter__(self) -> FakeGitHub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        if exc[0] is None:  # every user of the fake is held to the contract, not only those who ask
            assert not self.violations, "against GitHub's OpenAPI description:\n" + "\n".join(self.violations)

    # -- what tests set up and look at ------------------------------------------------------------

    def fail(self, method: str, path: str, status: int = 0, **kwargs: Any) -> Fault:
        fault = Fault(method, path, status, **kwargs)
        self.faults.append(fault)
        return fault

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.requests if m == method and re.search(path, p.split("?")[0]))

    def open_pull(self, head: str, base: str = "main", title: str = "opened elsewhere", body: str = "") -> dict[str, Any]:
        with self.lock:
            return self._create_pull({"head": head, "base": base, "title": title, "body": body})

    # -- JSON shapes ------------------------------------------------------------------------------

    def user(self, login: str) -> dict[str, Any]:
        return {"login": login, "id": abs(hash(login)) % 10**6, "type": "User", "url": f"{self.api}/users/{login}",
                "html_url": f"{self.base}/{login}"}

    def repo_json(self) -> dict[str, Any]:
        return {"id": 1, "name": self.name, "full_name": self.full_name, "owner": self.user(self.owner),
                "private": False, "default_branch": "main", "html_url": f"{self.base}/{self.full_name}",
                "url": f"{self.api}/repos/{self.full_name}", "permissions": {"admin": False, "push": True, "pull": True}}

    def _pull_json(self, pull: dict[str, Any]) -> dict[str, Any]:
        repo, n = self.repo_json(), pull["number"]
        return {
            "id": 1000 + n, "number": n, "state": pull["state"], "title": pull["title"], "body": pull["body"],
            "draft": pull["draft"], "merged_at": pull["merged_at"], "user": self.user(self.owner),
            "html_url": f"{self.base}/{self.full_name}/pull/{n}", "url": f"{repo['url']}/pulls/{n}",
            "issue_url": f"{repo['url']}/issues/{n}",
            "head": {"ref": pull["head"], "sha": pull["sha"], "label": f"{self.owner}:{pull['head']}", "repo": repo},
            "base": {"ref": pull["base"], "sha": "", "label": f"{self.owner}:{pull['base']}", "repo": repo},
            "labels": [{"id": i, "name": name, "url": f"{repo['url']}/labels/{name}"}
                       for i, name in enumerate(pull["labels"])],
            "requested_reviewers": [self.user(login) for login in pull["reviewers"]],
        }

    def _comment_json(self, comment: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.api}/repos/{self.full_name}"
        return {"id": comment["id"], "body": comment["body"], "user": self.user(self.owner),
                "html_url": f"{self.base}/{self.full_name}/issues/{comment['issue']}#issuecomment-{comment['id']}",
                "url": f"{url}/issues/comments/{comment['id']}", "issue_url": f"{url}/issues/{comment['issue']}"}

    # -- behaviour --------------------------------------------------------------------------------

    def _branch_sha(self, branch: str) -> str | None:
        if self.origin is None:
            return "0" * 40
        try:
            return str(git.Repo(self.origin).git.rev_parse(f"refs/heads/{branch}"))
        except git.GitCommandError:
            return None

    def _create_pull(self, data: dict[str, Any]) -> dict[str, Any]:
        head = str(data.get("head", "")).split(":")[-1]
        for pull in self.pulls:
            if pull["head"] == head and pull["base"] == data.get("base") and pull["state"] == "open":
                raise _Answer(422, {"message": "Validation Failed", "errors": [{
                    "resource": "PullRequest", "code": "custom",
                    "message": f"A pull request already exists for {self.owner}:{head}."}],
                    "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"})
        sha = self._branch_sha(head)
        if sha is None or not data.get("title"):
            raise _Answer(422, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "field": "head" if sha is None else "title", "code": "invalid"}]})
        pull = {"number": len(self.pulls) + 1, "state": "open", "title": data["title"],
                "body": data.get("body", ""), "draft": bool(data.get("draft", False)), "merged_at": None,
                "head": head, "base": data["base"], "sha": sha, "labels": [], "reviewers": []}
        self.pulls.append(pull)
        return pull

    def _pull(self, number: str) -> dict[str, Any]:
        for pull in self.pulls:
            if pull["number"] == int(number):
                return pull
        raise _Answer(404, {"message": "Not Found"})

    def route(self, method: str, path: str, query: dict[str, str], data: Any) -> tuple[int, Any]:
        repo = f"/repos/{self.full_name}"
        if not path.startswith(repo):
            if re.fullmatch(r"/repos/[^/]+/[^/]+(/.*)?", path):
                raise _Answer(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
            raise _Answer(404, {"message": "Not Found"})
        rest = path[len(repo):]
        if method == "GET" and rest == "":
            return 200, self.repo_json()
        if rest == "/pulls" and method == "GET":
            found = [p for p in self.pulls if query.get("state", "open") in ("all", p["state"])]
            if ":" in query.get("head", ""):  # GitHub ignores a head filter without "owner:"
                owner, branch = query["head"].split(":", 1)
                found = [p for p in found if owner == self.owner and p["head"] == branch]
            if "base" in query:
                found = [p for p in found if p["base"] == query["base"]]
            return 200, [self._pull_json(p) for p in found]
        if rest == "/pulls" and method == "POST":
            return 201, self._pull_json(self._create_pull(data))
        if m := re.fullmatch(r"/pulls/(\d+)", rest):
            pull = self._pull(m[1])
            if method == "PATCH":
                pull.update({k: v for k, v in data.items() if k in ("title", "body", "state", "base")})
            return 200, self._pull_json(pull)
        if (m := re.fullmatch(r"/pulls/(\d+)/requested_reviewers", rest)) and method == "POST":
            pull = self._pull(m[1])
            pull["reviewers"] += [r for r in data.get("reviewers", []) if r not in pull["reviewers"]]
            return 201, self._pull_json(pull)
        if (m := re.fullmatch(r"/issues/(\d+)/labels", rest)) and method == "POST":
            pull = self._pull(m[1])
            names = [label if isinstance(label, str) else label["name"] for label in data["labels"]]
            pull["labels"] += [name for name in names if name not in pull["labels"]]
            return 200, [{"id": i, "name": n, "url": f"{self.api}{repo}/labels/{n}"} for i, n in enumerate(pull["labels"])]
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            n = int(m[1])
            return 200, {"number": n, "title": f"tracking {n}", "state": "open", "url": f"{self.api}{path}",
                         "html_url": f"{self.base}/{self.full_name}/issues/{n}", "user": self.user(self.owner)}
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            if method == "POST":
                comment = {"id": 5000 + len(self.comments), "issue": int(m[1]), "body": data["body"]}
                self.comments.append(comment)
                return 201, self._comment_json(comment)
            return 200, [self._comment_json(c) for c in self.comments if c["issue"] == int(m[1])]
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
            comment = next(c for c in self.comments if c["id"] == int(m[1]))
            comment["body"] = data["body"]
            return 200, self._comment_json(comment)
        if m := re.fullmatch(r"/commits/([0-9a-f]+)(/status|/check-runs)?", rest):
            sha, what = m[1], m[2]
            if what == "/status":
                states = self.statuses.get(sha, [])
                combined = ("failure" if {"failure", "error"} & set(states) else
                            "pending" if "pending" in states or not states else "success")
                return 200, {"state": combined, "sha": sha, "total_count": len(states), "repository": self.repo_json(),
                             "statuses": [{"id": i, "state": s, "context": f"ci/{i}"} for i, s in enumerate(states)]}
            if what == "/check-runs":
                runs = self.check_runs.get(sha, [])
                return 200, {"total_count": len(runs), "check_runs": [
                    {"id": i, "name": f"check {i}", "status": s, "conclusion": c, "head_sha": sha}
                    for i, (s, c) in enumerate(runs)]}
            return 200, {"sha": sha, "url": f"{self.api}{path}", "html_url": f"{self.base}/{self.full_name}/commit/{sha}"}
        raise _Answer(404, {"message": "Not Found"})


class _Answer(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


PER_PAGE = 30


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read fake.requests instead
        pass

    def _serve(self) -> None:
        fake: FakeGitHub = self.server.fake  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        path = split.path.removeprefix(API)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"null") if length else None
        with fake.lock:
            fake.requests.append((self.command, path + (f"?{split.query}" if split.query else "")))
            fake.times.append(time.time())
            if (operation := fake.contract.operation(self.command, path)) is not None:
                fake.operations.add(operation)
            # what the forge sends is held to the contract whatever the answer (faults included)
            fake.violations += [f"{self.command} {path} sent: {error}"
                                for error in fake.contract.request_errors(self.command, path, query, data)]
            fault = next((f for f in fake.faults if f.times > 0 and f.method == self.command
                          and re.search(f.path, path)), None)
            if fault is not None:
                fault.times -= 1
        try:
            if fault is not None:
                time.sleep(fault.delay)
                if fault.before is not None:
                    fault.before()
                if fault.status:
                    raise _Answer(fault.status, fault.body, fault.headers)
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() not in ("token", "bearer") or token not in fake.tokens:
                raise _Answer(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            with fake.lock:
                try:
                    status, body = fake.route(self.command, path, query, data)
                except _Answer as refusal:  # the route's own refusals (404, 422) are held to the contract too
                    status, body = refusal.status, refusal.body
            if fault is not None:
                time.sleep(fault.late)
            headers: dict[str, str] = {}
            if isinstance(body, list):
                body, headers = self._page(body, fake, path, query)
            body = fake.contract.shape(self.command, path, status, body, fake.mode)
            if status < 300 or fake.contract.documents(self.command, path, status):
                fake.violations += [f"{self.command} {path} answered {status}: {error}" for error in
                                    fake.contract.response_errors(self.command, path, query, status, body, headers)]
        except _Answer as answer:
            status, body, headers = answer.status, answer.body, answer.headers
        payload = json.dumps(body).encode() if body is not None else b""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (timeout tests)
            pass

    @staticmethod
    def _page(items: list[Any], fake: FakeGitHub, path: str, query: dict[str, str]) -> tuple[list[Any], dict[str, str]]:
        page, per_page = int(query.get("page", 1)), int(query.get("per_page", PER_PAGE))
        last = max(1, -(-len(items) // per_page))
        headers = {}
        if page < last:
            def link(n: int) -> str:
                return f"{fake.api}{path}?{urlencode({**query, 'page': n})}"
            headers["Link"] = f'<{link(page + 1)}>; rel="next", <{link(last)}>; rel="last"'
        return items[(page - 1) * per_page: page * per_page], headers

    do_GET = do_POST = do_PATCH = do_DELETE = _serve
