"""The GitHub forge: pull requests, their checks and the tracking comment, through PyGithub.

The token comes from the environment (GITHUB_TOKEN, then GH_TOKEN), never from the plan, and is
held in a `Secret`. Retries are PyGithub's own `GithubRetry` (5xx, primary and secondary rate limits
with `Retry-After` / `x-ratelimit-reset`), bounded by the plan's `retries` and `max_wait`; creates
are never sent twice (see retry.py).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import requests
import urllib3
from github import Auth, Github, GithubException
from github.GithubException import RateLimitExceededExceedsMaxWait

from pytest_waves.engine.forge.base import (
    ForgeError,
    PullExists,
    PullRequest,
    PullSpec,
    combined_checks,
)
from pytest_waves.engine.forge.retry import BoundedRetry, Journal, create_once
from pytest_waves.engine.masking import TOKEN_VARIABLES, Secret, mask

if TYPE_CHECKING:
    from github.PullRequest import PullRequest as GithubPull
    from github.Repository import Repository

    from pytest_waves.plan.model import ForgeSettings

DEFAULT_API = "https://api.github.com"
# PyGithub logs each retry; a library's NullHandler leaves those records to whatever logging the user
# set up (pytest's capture shows them with a failing step). The step itself says what was retried.
logging.getLogger("github").addHandler(logging.NullHandler())


def token_from_environment() -> tuple[str, Secret] | None:
    for name in TOKEN_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return name, Secret(value)
    return None


class GitHubForge:
    def __init__(self, settings: ForgeSettings) -> None:
        self.settings = settings
        self.full_name = str(settings.repo)
        self.owner = self.full_name.split("/")[0]
        self.api_url = (settings.api_url or DEFAULT_API).rstrip("/")
        self._client: Github | None = None
        self._repository: Repository | None = None
        self.journal = Journal()

    def __repr__(self) -> str:
        return f"GitHubForge({self.full_name!r}, api_url={self.api_url!r})"

    # -- connection ---------------------------------------------------------------------------------

    def _github(self) -> Github:
        if self._client is None:
            found = token_from_environment()
            if found is None:
                raise ForgeError(f"the plan's forge is GitHub ({self.full_name}) but neither "
                                 f"{' nor '.join(TOKEN_VARIABLES)} is set",
                                 ["create a token that may write pull requests and issues of that repository "
                                  "and export it as GITHUB_TOKEN"])
            self.token_variable, token = found
            settings = self.settings
            retry = BoundedRetry(self.journal, total=settings.retries, max_rate_limit_wait=settings.max_wait,
                                 secondary_rate_wait=min(60.0, settings.max_wait))
            self._client = Github(auth=Auth.Token(token.reveal()), base_url=self.api_url,
                                  timeout=settings.timeout, retry=retry,  # type: ignore[arg-type]
                                  seconds_between_requests=None, seconds_between_writes=settings.write_interval)
        return self._client

    def _repo(self) -> Repository:
        if self._repository is None:  # one GET per session: it is also the access check
            self._repository = self._github().get_repo(self.full_name)
        return self._repository

    @contextmanager
    def _answer(self, doing: str) -> Iterator[None]:
        """GitHub's refusals and silences as one ForgeError saying what we were doing."""
        try:
            yield
        except ForgeError:
            raise
        except RateLimitExceededExceedsMaxWait as exc:
            raise ForgeError(f"{doing}: GitHub's rate limit resets in {exc.wait:.0f} s, longer than the "
                             f"forge's max_wait of {self.settings.max_wait:g} s") from None
        except GithubException as exc:
            summary, details = _github_message(exc)
            if "not permitted to create or approve pull requests" in summary:
                details.append("the workflow's GITHUB_TOKEN may open PRs only where the repository (or its "
                               "organisation) allows it: Settings → Actions → General → Workflow permissions → "
                               "Allow GitHub Actions to create and approve pull requests")
            raise ForgeError(mask(f"{doing}: GitHub answered {exc.status}: {summary}"),
                             [mask(d) for d in details]) from None
        except requests.exceptions.RequestException as exc:
            cause = _cause(exc)
            tries = f"tried {self.settings.retries + 1} times"
            if isinstance(cause, urllib3.exceptions.NewConnectionError):  # a ConnectTimeoutError too: first
                errno = re.search(r"\[Errno -?\d+\] ([^)\]]+)", str(cause))
                why = errno[1].strip().lower() if errno else str(cause)
                summary = f"cannot reach {self.api_url}: {why} ({tries})"
            elif isinstance(cause, (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)):
                summary = f"GitHub did not answer within {self.settings.timeout} s ({tries})"
            elif isinstance(exc, requests.exceptions.RetryError):
                summary = f"GitHub kept failing after {self.settings.retries} retries ({cause})"
            else:
                summary = f"cannot reach GitHub at {self.api_url}: {cause}"
            raise ForgeError(mask(f"{doing}: {summary}")) from None
        except Exception as exc:  # PyGithub's own refusals: a redirect elsewhere, an answer it cannot read
            raise ForgeError(mask(f"{doing}: unexpected answer from GitHub ({type(exc).__name__}: {exc})")) from None

    # -- the Forge protocol -------------------------------------------------------------------------

    def check_access(self) -> str:
        with self._answer(f"reading {self.full_name}"):
            where = str(self._repo().html_url)
        self.journal.said()  # what was retried before any step: no step's business
        return where

    def find_pull(self, head: str, base: str | None, *, merged: bool = False,
                  closed: bool = False) -> PullRequest | None:
        with self._answer(f"looking for the pull request {head} → {base or 'any base'}"):
            pull = self._find(head, base, merged=merged, closed=closed)
            return None if pull is None else self._with_checks(pull)

    def _find(self, head: str, base: str | None, *, merged: bool = False, closed: bool = False) -> GithubPull | None:
        # GitHub ignores a head filter without the owner: "owner:branch" is required
        wanted = {"state": "all" if merged or closed else "open", "head": f"{self.owner}:{head}",
                  **({"base": base} if base else {})}
        pulls = list(self._repo().get_pulls(**wanted))  # newest first
        open_pull = next((pull for pull in pulls if pull.state == "open"), None)
        if open_pull is not None or not (merged or closed):
            return open_pull
        merged_pull = next((pull for pull in pulls if pull.merged_at is not None), None) if merged else None
        if merged_pull is not None or not closed:
            return merged_pull
        return next((pull for pull in pulls if pull.merged_at is None), None)

    def create_pull(self, spec: PullSpec) -> PullRequest:
        with self._answer(f"opening the pull request {spec.head} → {spec.base}"):
            repo = self._repo()
            try:
                pull = create_once(
                    lambda: repo.create_pull(base=spec.base, head=spec.head, title=spec.title, body=spec.body,
                                             draft=spec.draft),
                    lambda: self._find(spec.head, spec.base),
                    retries=self.settings.retries, max_wait=self.settings.max_wait, journal=self.journal)
            except GithubException as exc:
                # GitHub says "A pull request already exists" in `errors`, which its description does
                # not promise to send: an open PR for this head and base found now says the same
                if exc.status == 422 and ("already exists" in str(exc.data) or self._find(spec.head, spec.base)):
                    raise PullExists(f"a pull request from {spec.head} into {spec.base} is already open") from None
                raise
            if spec.labels:
                self._label(pull.number, spec.labels)
            if spec.reviewers:  # only when opening: asking again would re-request a done review
                pull.create_review_request(reviewers=list(spec.reviewers))
            return self._with_checks(pull, labels=spec.labels, reviewers=spec.reviewers)

    def update_pull(self, number: int, title: str, body: str, base: str | None = None) -> None:
        with self._answer(f"updating pull request #{number}"):
            pull = self._repo().get_pull(number)
            if base:
                pull.edit(title=title, body=body, base=base)
            else:
                pull.edit(title=title, body=body)

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        with self._answer(f"labelling pull request #{number}"):
            self._label(number, labels)

    def _json(self, url: str, key: str) -> Iterator[dict[str, Any]]:
        """The items under `key` of every page of a list answer (`{"total_count": n, key: [...]}`)."""
        requester = self._github().requester
        parameters: dict[str, Any] | None = {"per_page": 100}
        next_url: str | None = url
        while next_url:
            headers, data = requester.requestJsonAndCheck("GET", next_url, parameters=parameters)
            yield from (item for item in (data or {}).get(key) or [] if isinstance(item, dict))
            next_url, parameters = _next_page(headers.get("link")), None  # the next link carries its query

    def _label(self, number: int, labels: Sequence[str]) -> None:
        # GitHub's description documents only {"labels": [...]}; PyGithub's add_to_labels sends a bare list
        self._github().requester.requestJsonAndCheck("POST", f"{self._repo().url}/issues/{number}/labels",
                                                      input={"labels": list(labels)})

    def upsert_comment(self, issue: int, marker: str, body: str) -> tuple[str, str]:
        with self._answer(f"commenting on issue #{issue}"):
            tracking = self._repo().get_issue(issue)

            def ours() -> Any:
                # our comments start with the marker; a reply quoting one does not
                return next((c for c in tracking.get_comments() if (c.body or "").startswith(marker)), None)

            comment = ours()
            if comment is None:
                made = create_once(lambda: tracking.create_comment(body), ours, retries=self.settings.retries,
                                   max_wait=self.settings.max_wait, journal=self.journal)
                return str(made.html_url), "posted"
            if comment.body == body:
                return str(comment.html_url), "unchanged"
            comment.edit(body)
            return str(comment.html_url), "updated"

    def hiccups(self) -> list[str]:
        return self.journal.said()

    # -- helpers ------------------------------------------------------------------------------------

    def _with_checks(self, pull: GithubPull, labels: Sequence[str] = (),
                     reviewers: Sequence[str] = ()) -> PullRequest:
        sha = pull.head.sha
        # Read as plain JSON: PyGithub's CheckRun fails on fields GitHub's description lets be null
        # (`check_suite`), and the commit itself (its files, possibly thousands) is not needed.
        commit = f"{self._repo().url}/commits/{sha}"
        statuses = [str(s.get("state")) for s in self._json(f"{commit}/status", "statuses")]
        runs = [(str(run.get("status")), run.get("conclusion")) for run in self._json(f"{commit}/check-runs", "check_runs")]
        return PullRequest(
            number=pull.number, title=pull.title, body=pull.body or "", head=pull.head.ref, base=pull.base.ref,
            state="merged" if pull.merged_at is not None else pull.state, url=pull.html_url, draft=bool(pull.draft),
            labels=tuple(labels) or tuple(label.name for label in pull.labels or ()),
            # GitHub's description requires neither: a pull request may come without them
            reviewers=tuple(reviewers) or tuple(user.login for user in pull.requested_reviewers or ()),
            head_sha=sha, checks=combined_checks(statuses, runs))


def _next_page(link: str | None) -> str | None:
    """The `rel="next"` address of a `Link` header, as GitHub paginates."""
    for part in (link or "").split(","):
        address, _, rel = part.partition(";")
        if rel.strip() == 'rel="next"':
            return address.strip().strip("<>")
    return None


def _github_message(exc: GithubException) -> tuple[str, list[str]]:
    data: Any = exc.data
    if not isinstance(data, dict):
        return str(data or "no message"), []
    details = []
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            details.append(str(error.get("message") or ", ".join(f"{k}: {v}" for k, v in error.items())))
        else:
            details.append(str(error))
    if data.get("documentation_url"):
        details.append(f"see {data['documentation_url']}")
    return str(data.get("message") or "no message"), details


def _cause(exc: BaseException) -> BaseException:
    """The innermost error under requests' and urllib3's wrappers (MaxRetryError and the like)."""
    while True:
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException):
            inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        if inner is None:
            return exc
        exc = inner
