"""One run: its id (which names its log folder, the same on every xdist worker), the pruning of old
runs' logs, and a SIGTERM that stops the run the way Ctrl-C does."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType

import pytest

RUN_KEY = "waves_run"
KEEP_RUNS = 20  # log folders kept per plan


def run_id(config: pytest.Config) -> str:
    """`20261127-132800-4711-9f3a`: sortable; pid and a random part keep two runs in one second apart."""
    given = getattr(config, "workerinput", {}).get(RUN_KEY)
    return str(given) if given else f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(2)}"


def prune(plan_log_dirs: Iterable[Path], keep: int = KEEP_RUNS) -> None:
    """Keep the newest `keep` runs' logs of each plan, this run's included: its folder does not exist
    yet, so `keep - 1` earlier ones stay."""
    for folder in plan_log_dirs:
        if not folder.is_dir():
            continue
        runs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name[:8].isdigit())
        for path in runs[:max(0, len(runs) - (keep - 1))]:
            shutil.rmtree(path, ignore_errors=True)


def ignore_state(state_dir: Path) -> None:
    """`.waves/` (logs, the local forge) often sits inside a repository, next to its plan: git is
    told to ignore it, so that a run never makes that repository look dirty."""
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        ignore.write_text("# written by pytest-waves: run state, not sources\n*\n", encoding="utf-8")


def terminate_as_interrupt(config: pytest.Config) -> None:
    """SIGTERM (CI cancelling a job, `kill`) ends the run like Ctrl-C: the running command's process
    group is killed, git operations finish whole, reports are written. By default it would end the
    process on the spot, orphaning a running agent."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"terminated by signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    config.add_cleanup(restore)
