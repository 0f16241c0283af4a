"""The live view (-v): a long step shows that it is alive, each line of its output as it comes.

In one process the lines go to the terminal under the step's name, past pytest's capture. An xdist
worker's terminal is nobody's: there each step's latest line goes to a small file in a directory the
controller named (`LIVE_KEY` in workerinput), and the controller shows it as `[gw1] #155 agent | …`
(see parallel/relay.py). Either way a burst is thinned, the step's last line is always shown, and a
step still running after LONG_STEP_SECONDS says where its log is, for `tail -f`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_waves.engine.masking import mask

LINE_CHARS = 200
LINES_PER_SECOND = 20  # a step printing a million lines must not drown the terminal
LONG_STEP_SECONDS = 2.0  # a step running this long says where its log is
LIVE_KEY = "waves_live"  # the workerinput key: the directory a worker's feed is written to


def shown(line: str) -> str:
    return mask(line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + " …")


class LiveView:
    """A step's output lines, passed on at most LINES_PER_SECOND; a line passed over is held, so the
    step's last line is always passed on when it finishes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # the reader thread writes while the main thread finishes
        self.last, self.skipped, self.held = 0.0, 0, ""
        self.timer: threading.Timer | None = None
        self.ended = False

    def __call__(self, line: str) -> None:
        now = time.monotonic()
        if now - self.last < 1 / LINES_PER_SECOND:
            self.skipped, self.held = self.skipped + 1, line
            return
        with self.lock:
            self._pass_on(line, self.skipped)
            self.skipped, self.held = 0, ""
        self.last = now

    def start(self, log: Path) -> None:
        """The step starts; should it still run after LONG_STEP_SECONDS and write a log, say where."""
        self.timer = threading.Timer(LONG_STEP_SECONDS, self._long, (log,))
        self.timer.daemon = True
        self.timer.start()

    def finish(self) -> None:
        """The step ended: a line held back by the rate limit (often the verdict) is passed on."""
        if self.timer is not None:
            self.timer.cancel()
        with self.lock:
            if self.skipped:
                self._pass_on(self.held, self.skipped - 1)
                self.skipped, self.held = 0, ""
            self.ended = True
            self._end()

    def _long(self, log: Path) -> None:
        with self.lock:
            if log.exists() and not self.ended:  # the step may have ended while this waited for the lock
                self._say_log(log)

    def _pass_on(self, line: str, skipped: int) -> None:
        raise NotImplementedError

    def _say_log(self, log: Path) -> None:
        raise NotImplementedError

    def _end(self) -> None:
        pass


class LiveOutput(LiveView):
    """One process: straight to the terminal."""

    def __init__(self, terminal: Any, capture: Any) -> None:
        super().__init__()
        self.terminal, self.capture = terminal, capture

    def _pass_on(self, line: str, skipped: int) -> None:
        self._write(f"    | {f'(+{skipped} lines) ' if skipped else ''}{shown(line)}")

    def _say_log(self, log: Path) -> None:
        self._write(f"    | log: {log} (tail -f to follow)")

    def _write(self, text: str) -> None:
        suspended = self.capture.global_and_fixture_disabled() if self.capture else contextlib.nullcontext()
        with suspended:
            self.terminal.write_line(text)


class LiveFeed(LiveView):
    """An xdist worker: the step's latest line, the lines so far and its log, in one file the
    controller polls (replaced atomically: it reads the old state or the new one, never half)."""

    def __init__(self, folder: Path, worker: str, label: str) -> None:
        super().__init__()
        # one file a step: the next step on this worker cannot overwrite a last line not yet shown
        self.path = folder / f"{worker}.{time.time_ns():020d}.json"
        self.state: dict[str, Any] = {"label": label, "count": 0, "line": None, "log": None, "done": False}

    def __call__(self, line: str) -> None:
        with self.lock:
            self.state["count"] += 1
        super().__call__(line)

    def _pass_on(self, line: str, skipped: int) -> None:
        self.state["line"], self.state["shown_at"] = shown(line), self.state["count"]  # the passed line's index
        self._write()

    def _say_log(self, log: Path) -> None:
        self.state["log"] = str(log)
        self._write()

    def _end(self) -> None:
        self.state["done"] = True
        self._write()

    def _write(self) -> None:
        try:
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.state, handle)
            os.replace(temporary, self.path)
        except OSError:  # the controller is gone, or its directory: nobody is watching
            pass


def live_view(config: pytest.Config, label: str) -> LiveView | None:
    """The live view for a step (`#155 agent`): to the terminal, to the controller, or none (no -v)."""
    if config.option.verbose <= 0:
        return None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        folder = workerinput.get(LIVE_KEY)
        return LiveFeed(Path(folder), workerinput.get("workerid", "gw"), label) if folder else None
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    return None if terminal is None else LiveOutput(terminal, config.pluginmanager.get_plugin("capturemanager"))


def read_feeds(folder: Path) -> dict[Path, dict[str, Any]]:
    """Each step's feed (named worker.start.json, so sorted they come in order) → its latest state."""
    feeds = {}
    for path in sorted(folder.glob("gw*.json")):
        try:
            feeds[path] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return feeds
