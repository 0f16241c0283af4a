"""The controller's half of the live view under `-n N -v`: what each worker's running step prints.

Workers write their step's latest line to a feed file (session/live.py); a thread here polls the
feeds and shows each new line as `[gw1] #155 agent | …`, with `(+N lines)` for those passed over,
and `[gw1] #155 agent | log: …` once a step has run long enough to be worth a `tail -f`. The
terminal is shared with pytest's own report lines, written by the main thread: the hook wrappers
below hold the same lock while those are written, so no line is cut by another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_waves.session.live import read_feeds

POLL_SECONDS = 0.1


class LiveRelay:
    """Registered on the controller as a plugin (for its hook wrappers) while a run shows -v."""

    def __init__(self, folder: Path, write_line: Callable[[str], None]) -> None:
        self.folder, self.write_line = folder, write_line
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.seen: dict[str, tuple[int, bool]] = {}  # a step's feed → (lines shown up to, log said)
        self.thread = threading.Thread(target=self._loop, daemon=True, name="waves-live-relay")

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.thread.start()

    def stop(self) -> None:
        """Show what came in since the last poll, then stop."""
        if self.thread.is_alive():
            self.done.set()
            self.thread.join(timeout=5)
            self.poll()

    def _loop(self) -> None:
        while not self.done.wait(POLL_SECONDS):
            self.poll()

    def poll(self) -> None:
        with self.lock:
            self._show_news()

    def _show_news(self) -> None:
        for path, feed in read_feeds(self.folder).items():
            worker = path.name.split(".")[0]
            for line in self._news(path.name, worker, feed):
                self.write_line(line)
            if feed.get("done"):  # all of it shown: the step's feed is done with
                self.seen.pop(path.name, None)
                path.unlink(missing_ok=True)

    def _news(self, key: str, worker: str, feed: dict[str, Any]) -> list[str]:
        """The feed's lines not shown yet; remembers what it shows."""
        upto, log_said = self.seen.get(key, (0, False))
        lines = []
        if feed.get("log") and not log_said:
            lines.append(f"[{worker}] {feed['label']} | log: {feed['log']} (tail -f to follow)")
            log_said = True
        at = int(feed.get("shown_at") or 0)
        if feed.get("line") is not None and at > upto:
            skipped = at - upto - 1
            lines.append(f"[{worker}] {feed['label']} | {f'(+{skipped} lines) ' if skipped else ''}{feed['line']}")
            upto = at
        self.seen[key] = (upto, log_said)
        return lines

    # pytest's report lines, written by the main thread, are not cut by a relayed one
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_logstart(self) -> Generator[None, Any, None]:
        with self.lock:
            yield

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_logreport(self) -> Generator[None, Any, None]:
        with self.lock:
            self._show_news()  # a step's last lines come before its verdict
            yield

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_logfinish(self) -> Generator[None, Any, None]:
        with self.lock:
            yield
