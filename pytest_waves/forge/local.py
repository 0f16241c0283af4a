"""The local forge: pull requests as records in a JSON file under `.waves/` next to the plan.

Readable by reports and by later runs; a file lock makes concurrent workers safe.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from filelock import FileLock

from . import PullRequest


class LocalForge:
    def __init__(self, store: Path, project: str) -> None:
        self.store = store
        self.project = project
        self._lock = FileLock(str(store) + ".lock", timeout=60)

    def _read(self) -> list[dict[str, Any]]:
        if not self.store.exists():
            return []
        return list(json.loads(self.store.read_text(encoding="utf-8"))["pulls"])

    def _write(self, pulls: list[dict[str, Any]]) -> None:
        self.store.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.store.with_suffix(".tmp")
        temporary.write_text(json.dumps({"project": self.project, "pulls": pulls}, indent=2), encoding="utf-8")
        os.replace(temporary, self.store)  # atomic: a reader never sees half a file

    def pulls(self) -> list[PullRequest]:
        return [PullRequest(**record) for record in self._read()]

    def find_pull(self, head: str, base: str) -> PullRequest | None:
        for pull in self.pulls():
            if pull.head == head and pull.base == base and pull.state == "open":
                return pull
        return None

    def create_pull(self, head: str, base: str, title: str, body: str) -> PullRequest:
        with self._lock:
            existing = self.find_pull(head, base)  # a racing worker may have made it meanwhile
            if existing is not None:
                return existing
            records = self._read()
            number = max((record["number"] for record in records), default=0) + 1
            pull = PullRequest(number=number, title=title, body=body, head=head, base=base, state="open",
                               url=f"local://{self.project}/pull/{number}")
            self._write([*records, asdict(pull)])
            return pull

    def update_pull(self, number: int, title: str, body: str) -> PullRequest:
        with self._lock:
            records = self._read()
            for record in records:
                if record["number"] == number:
                    record.update(title=title, body=body)
                    self._write(records)
                    return PullRequest(**record)
        raise KeyError(number)
