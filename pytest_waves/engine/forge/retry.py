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
from github import GithubException, GithubRetry
from github.GithubException import (
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE", "OPTIONS"})
BACKOFF_FACTOR = 0.5  # 0 s, 1 s, 2 s, 4 s … between retries of a 5xx or a timeout
BACKOFF_MAX = 30.0

T = TypeVar("T")


class BoundedRetry(GithubRetry):
    """GithubRetry for idempotent methods only, with every wait (`Retry-After` too) at most max_wait."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allowed_methods", IDEMPOTENT_METHODS)
        kwargs.setdefault("status_forcelist", [429, *range(500, 600)])
        kwargs.setdefault("backoff_factor", BACKOFF_FACTOR)
        kwargs.setdefault("backoff_max", BACKOFF_MAX)
        super().__init__(**kwargs)

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> Any:
        if response is not None and self.max_rate_limit_wait is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_rate_limit_wait:
                raise RateLimitExceededExceedsMaxWait(response.status, None, dict(response.headers), wait=wait)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def create_once(create: Callable[[], T], find: Callable[[], T | None], *, retries: int, max_wait: float) -> T:
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
        made = find()
        if made is not None:  # the lost attempt went through
            return made
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
