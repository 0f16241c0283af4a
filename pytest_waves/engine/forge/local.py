"""The local forge: pull requests and comments as records in a JSON file under `.waves/` next to the plan.

Readable by reports and by later runs; a file lock makes concurrent workers safe. It has no CI, so
its pull requests have no checks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_waves.engine.forge.base import PullExists, PullRequest, PullSpec

if TYPE_CHECKING:
    from filelock import FileLock

_PULL_FIELDS = {f.name for f in fields(PullRequest)}


class LocalForge:
    def __init__(self, store: Path, project: str) -> None:
        self.store = store
        self.project = project

    @cached_property
    def _lock(self) -> FileLock:
        # imported here: only pr steps and the tracking comment take it, not every worker's start-up
        from filelock import FileLock

        return FileLock(str(self.store) + ".lock", timeout=60)

    def __repr__(self) -> str:
        return f"LocalForge({str(self.store)!r})"

    def _read(self) -> dict[str, Any]:
        if not self.store.exists():
            return {"project": self.project, "pulls": [], "comments": []}
        data = json.loads(self.store.read_text(encoding="utf-8"))
        data.setdefault("comments", [])  # stores written before comments existed
        return dict(data)

    def _write(self, data: dict[str, Any]) -> None:
        self.store.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.store.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(temporary, self.store)  # atomic: a reader never sees half a file

    @staticmethod
    def _pull(record: dict[str, Any]) -> PullRequest:
        known: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value
                 for key, value in record.items() if key in _PULL_FIELDS}
        return PullRequest(**known)

    def pulls(self) -> list[PullRequest]:
        return [self._pull(record) for record in self._read()["pulls"]]

    def check_access(self) -> str:
        return str(self.store)

    def find_pull(self, head: str, base: str | None, *, merged: bool = False,
                  closed: bool = False) -> PullRequest | None:
        states = ("open", *(("merged",) if merged else ()), *(("closed",) if closed else ()))
        found = [pull for pull in self.pulls() if pull.head == head and base in (None, pull.base)]
        for state in states:  # open first, then merged, then the newest closed one
            pull = next((p for p in reversed(found) if p.state == state), None)
            if pull is not None:
                return pull
        return None

    def create_pull(self, spec: PullSpec) -> PullRequest:
        with self._lock:
            if self.find_pull(spec.head, spec.base) is not None:  # a racing worker made it meanwhile
                raise PullExists(f"a pull request from {spec.head} into {spec.base} is already open")
            data = self._read()
            number = max((record["number"] for record in data["pulls"]), default=0) + 1
            pull = PullRequest(number=number, title=spec.title, body=spec.body, head=spec.head, base=spec.base,
                               state="open", url=f"local://{self.project}/pull/{number}", draft=spec.draft,
                               labels=spec.labels, reviewers=spec.reviewers)
            data["pulls"].append(asdict(pull))
            self._write(data)
            return pull

    def _edit(self, number: int, **changes: Any) -> PullRequest:
        with self._lock:
            data = self._read()
            for record in data["pulls"]:
                if record["number"] == number:
                    record.update(changes)
                    self._write(data)
                    return self._pull(record)
        raise KeyError(number)

    def update_pull(self, number: int, title: str, body: str, base: str | None = None) -> None:
        self._edit(number, title=title, body=body, **({"base": base} if base else {}))

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        current = next(p for p in self.pulls() if p.number == number).labels
        self._edit(number, labels=[*current, *(label for label in labels if label not in current)])

    def hiccups(self) -> list[str]:
        return []  # a file on this machine: nothing to retry

    def upsert_comment(self, issue: int, marker: str, body: str) -> tuple[str, str]:
        with self._lock:
            data = self._read()
            for comment in data["comments"]:
                if comment["issue"] == issue and comment["body"].startswith(marker):
                    if comment["body"] == body:
                        return comment["url"], "unchanged"
                    comment["body"] = body
                    self._write(data)
                    return comment["url"], "updated"
            number = len(data["comments"]) + 1
            url = f"local://{self.project}/issues/{issue}#comment-{number}"
            data["comments"].append({"id": number, "issue": issue, "body": body, "url": url})
            self._write(data)
            return url, "posted"
