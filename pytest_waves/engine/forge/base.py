"""What a forge is: the questions both forges answer, and the values they answer with.

The embedded local forge needs no network and no token; the GitHub forge talks to github.com or an
Enterprise server through PyGithub. Both answer the same questions, so a plan switches by one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

CHECK_MARKS = {"success": "✅", "failure": "❌", "pending": "⏳"}


class ForgeError(Exception):
    """The forge refused or could not answer; the message is the forge's own, secrets masked."""

    def __init__(self, summary: str, details: Sequence[str] = ()) -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = list(details)


class PullExists(ForgeError):
    """Creating a pull request raced with another run that created the same one."""


@dataclass(frozen=True)
class PullSpec:
    """The pull request a `pr` step asks for."""

    head: str
    base: str
    title: str
    body: str
    draft: bool = False
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    body: str
    head: str
    base: str
    state: str  # "open", "merged" or "closed"
    url: str
    draft: bool = False
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    head_sha: str = ""
    checks: str = "none"  # "none", "pending", "success" or "failure": see combined_checks

    def label(self) -> str:
        mark = CHECK_MARKS.get(self.checks)
        return f"#{self.number} {self.state}" + (f" {mark}" if mark else "")


def combined_checks(statuses: Iterable[str], runs: Iterable[tuple[str, str | None]]) -> str:
    """One verdict from commit statuses (state) and check runs (status, conclusion), as GitHub's
    merge box shows it: any failure fails, else anything unfinished is pending, else success."""
    verdicts = []
    for state in statuses:
        verdicts.append("failure" if state in ("failure", "error") else
                        "pending" if state == "pending" else "success")
    for status, conclusion in runs:
        if status != "completed":
            verdicts.append("pending")
        else:
            verdicts.append("success" if conclusion in ("success", "neutral", "skipped") else "failure")
    for verdict in ("failure", "pending", "success"):
        if verdict in verdicts:
            return verdict
    return "none"


class Forge(Protocol):
    def check_access(self) -> str:
        """Raise ForgeError unless the forge answers and accepts our credentials; say where it is."""

    def find_pull(self, head: str, base: str | None, *, merged: bool = False,
                  closed: bool = False) -> PullRequest | None:
        """The open pull request from `head` into `base` (into any base when None), with its checks;
        when asked and none is open, a merged one, and then one closed without merging (the newest)."""

    def create_pull(self, spec: PullSpec) -> PullRequest:
        """Open it; raise PullExists when one from `head` into `base` is already open."""

    def update_pull(self, number: int, title: str, body: str, base: str | None = None) -> None:
        """Set title and body, and the base when given (a stacked PR retargeted)."""

    def add_labels(self, number: int, labels: Sequence[str]) -> None: ...

    def upsert_comment(self, issue: int, marker: str, body: str) -> tuple[str, str]:
        """Post `body` on the issue, or edit our earlier comment (the one containing `marker`).
        Returns the comment's URL and what happened: "posted", "updated" or "unchanged"."""

    def hiccups(self) -> list[str]:
        """What went wrong on the wire and was retried since the last call, one line per kind
        ("GitHub answered 502; retried 2 times over 1.0 s"); then forgotten."""
