"""Forges: where pull requests live. The embedded local forge needs no network and no token."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    body: str
    head: str
    base: str
    state: str  # "open", "merged" or "closed"
    url: str

    def label(self) -> str:
        return f"#{self.number} {self.state}"


class Forge(Protocol):
    def find_pull(self, head: str, base: str) -> PullRequest | None:
        """The open pull request from `head` into `base`, if there is one."""

    def create_pull(self, head: str, base: str, title: str, body: str) -> PullRequest: ...

    def update_pull(self, number: int, title: str, body: str) -> PullRequest: ...


def make_forge(kind: str, plan_path: Path, project: str) -> Forge:
    from .local import LocalForge

    if kind == "local":
        return LocalForge(plan_path.parent / ".waves" / "forge" / f"{plan_path.stem}.json", project)
    raise ValueError(f"unknown forge kind {kind!r}")  # pragma: no cover - the plan model rejects it
