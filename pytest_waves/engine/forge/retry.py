"""Retrying GitHub without doing anything twice, and without waiting longer than the plan allows.

PyGithub's `GithubRetry` retries POST too. A create whose answer was lost (a timeout, a 502 after
the write) would then be sent again, and a second pull request or comment would appear. Here only
idempotent methods are retried by urllib3; creates go through `create_once`, which looks for what
the lost attempt may have made before it tries again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import requests
import urllib3
from github import GithubException, GithubRetry
from github.GithubException import (
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE", "OPTIONS"})
BACKOFF_FACTOR = 0.5  # 0 s, 1 s, 2 s, 4 s … between retries of a 5xx or a timeout
BACKOFF_MAX = 30.0

T = TypeVar("T")


class Journal:
    """What went wrong on the wire and was retried, so that a step can say it (PyGithub only logs it)."""

    def __init__(self) -> None:
        self.entries: list[tuple[float, str]] = []  # (time.monotonic(), "answered 502" / "timed out" / …)

    def note(self, what: str) -> None:
        self.entries.append((time.monotonic(), what))

    def said(self) -> list[str]:
        """One line per kind of hiccup since the last call, e.g. "GitHub answered 502; retried 2 times
        over 1.0 s" (from the first retry to the last); then forgotten."""
        kinds: dict[str, list[float]] = {}
        for when, what in self.entries:
            kinds.setdefault(what, []).append(when)
        self.entries.clear()
        return [f"GitHub {what}; retried {len(times)} time{'s' if len(times) > 1 else ''}"
                + (f" over {times[-1] - times[0]:.1f} s" if len(times) > 1 else "") for what, times in kinds.items()]


def _what(response: Any, error: Exception | None) -> str:
    if response is not None:
        return f"answered {response.status}"
    if isinstance(error, urllib3.exceptions.NewConnectionError):  # before: it is a ConnectTimeoutError too
        return "could not be reached"
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return "did not answer in time"
    return f"failed ({type(error).__name__})" if error is not None else "failed"


class BoundedRetry(GithubRetry):
    """GithubRetry for idempotent methods only, with every wait (`Retry-After` too) at most max_wait,
    and each retry noted in the forge's journal."""

    def __init__(self, journal: Journal | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("allowed_methods", IDEMPOTENT_METHODS)
        kwargs.setdefault("status_forcelist", [429, *range(500, 600)])
        kwargs.setdefault("backoff_factor", BACKOFF_FACTOR)
        kwargs.setdefault("backoff_max", BACKOFF_MAX)
        super().__init__(**kwargs)
        self.journal = journal or Journal()

    def new(self, **kwargs: Any) -> BoundedRetry:
        retry: BoundedRetry = super().new(**kwargs)  # urllib3 makes a new one per attempt: keep the journal
        retry.journal = self.journal
        return retry

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> Any:
        if response is not None and self.max_rate_limit_wait is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_rate_limit_wait:
                raise RateLimitExceededExceedsMaxWait(response.status, None, dict(response.headers), wait=wait)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        self.journal.note(_what(response, error))  # only once urllib3 agreed to retry
        return retry


def create_once(create: Callable[[], T], find: Callable[[], T | None], *, retries: int, max_wait: float,
                journal: Journal | None = None) -> T:
    """POST `create`; when its answer is lost or refused for a while, look with `find` before trying again."""
    for attempt in range(retries + 1):
        try:
            return create()
        except (GithubException, requests.RequestException) as exc:
            wait = _transient_wait(exc, attempt)
            if wait is None or attempt == retries:
                raise
            if wait > max_wait:
                raise RateLimitExceededExceedsMaxWait(getattr(exc, "status", 0), None, None, wait=wait) from None
            what = f"answered {exc.status}" if isinstance(exc, GithubException) else "lost an answer"
        made = find()
        if made is not None:  # the lost attempt went through: nothing is sent again
            return made
        if journal is not None:  # it is sent again: a retry
            journal.note(what)
        time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _transient_wait(exc: Exception, attempt: int) -> float | None:
    """How long to wait before trying again, or None when the error is an answer, not a hiccup."""
    backoff = min(BACKOFF_MAX, BACKOFF_FACTOR * 2 ** attempt) if attempt else 0.0
    if isinstance(exc, requests.RequestException):
        return backoff
    assert isinstance(exc, GithubException)
    if isinstance(exc, RateLimitExceededException) or exc.status == 429:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        if str(headers.get("retry-after", "")).isdigit():
            return float(headers["retry-after"])
        if str(headers.get("x-ratelimit-reset", "")).isdigit():
            reset = datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), timezone.utc)
            return max(0.0, (reset - datetime.now(timezone.utc)).total_seconds()) + 1
        return 60.0  # GitHub's advice for a secondary limit without a header
    return backoff if exc.status >= 500 else None
