"""One writing run per repository at a time.

Two runs rebasing and pushing the same worktrees would each see the other's half-done work as the
state to judge ("detached HEAD", "uncommitted changes"). A run that may write holds an OS lock
(flock, through filelock) in the repository's git folder for its whole life; a second run stops at
once with a usage error naming the first, or waits for it (`--waves-wait`). The kernel drops the
lock when its process ends however it ends, `kill -9` included, so no lock is ever stale; the
note next to it, which says who holds it, is only read while the lock is held by someone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = "pytest-waves-run.lock"


class RepositoryBusy(Exception):
    """Another run holds the repository. str() is the one message a user sees."""


def git_common_dir(path: Path) -> Path | None:
    """The git folder every worktree of `path`'s repository shares, or None when it is not one."""
    if not path.is_dir():
        return None
    found = subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=path,
                           capture_output=True, text=True, check=False)
    return (path / found.stdout.strip()).resolve() if found.returncode == 0 and found.stdout.strip() else None


@dataclass
class RunLocks:
    """The locks this run holds, taken one place at a time and released together at the end."""

    plan: str  # for the note: which plan the holder runs
    wait: float = 0.0  # seconds to wait for another run; 0 stops at once
    held: dict[Path, FileLock] = field(default_factory=dict)

    def take_repository(self, repo_root: Path) -> None:
        """Lock the repository `repo_root` belongs to (all its worktrees); nothing when it is none."""
        common = git_common_dir(repo_root)
        if common is not None:
            self.take(common / LOCK_NAME, repo_root)

    def take_sandbox(self, checkout: Path) -> None:
        """A sandbox may not exist yet: its lock sits beside it, so that two runs never build it at once."""
        self.take(checkout.parent / f".{checkout.name}.{LOCK_NAME}", checkout)

    def take(self, lock_path: Path, what: Path) -> None:
        lock_path = lock_path.resolve()
        if lock_path in self.held:
            return
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path), thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if self.wait <= 0:
                raise RepositoryBusy(self._busy(lock_path, what)) from None
            sys.stderr.write(f"pytest-waves: waiting up to {self.wait:g} s for {self._holder(lock_path)}\n")
            try:
                lock.acquire(timeout=self.wait)
            except Timeout:
                raise RepositoryBusy(self._busy(lock_path, what, waited=True)) from None
        self.held[lock_path] = lock
        _note(lock_path).write_text(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "started": time.time(), "plan": self.plan}),
            encoding="utf-8")

    def release(self) -> None:
        for lock_path, lock in self.held.items():
            _note(lock_path).unlink(missing_ok=True)
            lock.release()
        self.held.clear()

    def _busy(self, lock_path: Path, what: Path, waited: bool = False) -> str:
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
