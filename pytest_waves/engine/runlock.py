"""One writing run per repository at a time.

Two runs rebasing and pushing the same worktrees would each see the other's half-done work as the
state to judge ("detached HEAD", "uncommitted changes"). A run that may write holds an OS lock
(`flock`) in the repository's git folder for its whole life; a second run stops at once with a
usage error naming the first, or waits for it (`--waves-wait`). The kernel drops the lock when its
process ends however it ends, `kill -9` included, so no lock is ever stale. There is no fallback to
a lock file whose mere existence counts: on a file system without `flock` the run says so and stops.
The note next to the lock, which says who holds it, is only read while the lock is held."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

LOCK_NAME = "pytest-waves-run.lock"
POLL_SECONDS = 0.1


class RepositoryBusy(Exception):
    """Another run holds the repository, or it cannot be locked. str() is the one message shown."""


def git_common_dir(path: Path) -> Path | None:
    """The git folder every worktree of `path`'s repository shares, or None when it is not one."""
    if not path.is_dir():
        return None
    found = subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=path,
                           capture_output=True, text=True, check=False)
    return (path / found.stdout.strip()).resolve() if found.returncode == 0 and found.stdout.strip() else None


@dataclass
class RunLocks:
    """The locks this run holds, taken in one global order and released together at the end."""

    plan: str  # for the note: which plan the holder runs
    wait: float = 0.0  # seconds to wait, for all locks together; 0 stops at once
    held: dict[Path, int] = field(default_factory=dict)  # lock file → its open descriptor
    deadline: float | None = None

    def take_repositories(self, roots: list[Path]) -> None:
        """Lock the repositories the roots belong to (each with all its worktrees); a root that is
        not a repository (yet) needs none: there is no work in it to protect."""
        found = {common / LOCK_NAME: root for root in roots if (common := git_common_dir(root)) is not None}
        self._take(found)

    def take_sandboxes(self, checkouts: list[Path]) -> None:
        """A sandbox may not exist yet: its lock sits beside it, so that two runs never build it at once."""
        self._take({checkout.parent / f".{checkout.name}.{LOCK_NAME}": checkout for checkout in checkouts})

    def _take(self, wanted: dict[Path, Path]) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.wait
        resolved = {path.resolve(): what for path, what in wanted.items()}
        for lock_path in sorted(resolved):
            if lock_path not in self.held:
                self._take_one(lock_path, resolved[lock_path])

    def _take_one(self, lock_path: Path, what: Path) -> None:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by any command (PEP 446)
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            except OSError as exc:
                os.close(fd)
                raise RepositoryBusy(f"cannot lock {lock_path} ({exc.strerror}): this file system does not "
                                     "support the lock that keeps two runs apart") from None
            assert self.deadline is not None
            if time.monotonic() >= self.deadline:
                os.close(fd)
                raise RepositoryBusy(self._busy(lock_path, what, waited=self.wait > 0))
            if not said:
                sys.stderr.write(f"pytest-waves: waiting up to {self.wait:g} s for {self._holder(lock_path)}\n")
                said = True
            time.sleep(POLL_SECONDS)
        self.held[lock_path] = fd
        _note(lock_path).write_text(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "started": time.time(), "plan": self.plan}),
            encoding="utf-8")

    def release(self) -> None:
        for lock_path, fd in self.held.items():
            _note(lock_path).unlink(missing_ok=True)
            os.close(fd)  # closing the descriptor releases the flock
        self.held.clear()

    def _busy(self, lock_path: Path, what: Path, waited: bool) -> str:
        after = f" (still, after waiting {self.wait:g} s)" if waited else ""
        return (f"another pytest-waves run is working on {what}{after}: {self._holder(lock_path)}.\n"
                "  One run per repository at a time: wait for it to end, or give --waves-wait=SECONDS to wait "
                "for it. --waves-verify and --waves-dry-run runs write nothing and may run alongside.")

    @staticmethod
    def _holder(lock_path: Path) -> str:
        try:
            note = json.loads(_note(lock_path).read_text(encoding="utf-8"))
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(note["started"])))
            return f"pid {note['pid']} on {note['host']}, started {started}, plan {note['plan']}"
        except (OSError, ValueError, KeyError, TypeError):  # the holder is still writing its note
            return "a run that has just started"


def _note(lock_path: Path) -> Path:
    return lock_path.with_suffix(".json")
