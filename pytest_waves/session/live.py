"""The live view (-v): a long step shows that it is alive, each line of its output as it comes,
under the step's name and past pytest's capture. Never on an xdist worker, whose output nobody sees
(the controller says which issue runs where instead: see parallel/controller.py)."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pytest

from pytest_waves.engine.masking import mask

LINE_CHARS = 200
LINES_PER_SECOND = 20  # a step printing a million lines must not drown the terminal


class LiveOutput:
    def __init__(self, terminal: Any, capture: Any) -> None:
        self.terminal, self.capture = terminal, capture
        self.lock = threading.Lock()  # the reader thread writes while the main thread waits
        self.last, self.skipped, self.held = 0.0, 0, ""

    @classmethod
    def for_config(cls, config: pytest.Config) -> LiveOutput | None:
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        if config.option.verbose <= 0 or terminal is None or hasattr(config, "workerinput"):
            return None
        return cls(terminal, config.pluginmanager.get_plugin("capturemanager"))

    def __call__(self, line: str) -> None:
        now = time.monotonic()
        if now - self.last < 1 / LINES_PER_SECOND:
            self.skipped, self.held = self.skipped + 1, line
            return
        self._write(line)
        self.last = now

    def finish(self) -> None:
        """The step ended: a line held back by the rate limit (often the verdict) is shown."""
        if self.skipped:
            self.skipped -= 1
            self._write(self.held)

    def _write(self, line: str) -> None:
        shown = mask(line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + " …")
        more = f"(+{self.skipped} lines) " if self.skipped else ""
        suspended = self.capture.global_and_fixture_disabled() if self.capture else contextlib.nullcontext()
        with self.lock, suspended:
            self.terminal.write_line(f"    | {more}{shown}")
        self.skipped, self.held = 0, ""
