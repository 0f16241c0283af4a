"""Every use of a private API of pytest or pytest-dependency, in one place.

- pytest-dependency keeps each step's result in `DependencyManager.results`, a private table. Its
  `dependency` marks are our public contract; its table is read and written only here: by the gate
  (trusting a recorded outcome) and by xdist workers (adopting a result from another worker).
- pytest's JUnit writer (`_pytest.junitxml.xml_key`): suite properties on the process that writes
  the XML, which `record_testsuite_property` cannot reach under xdist (pytest#7767).
- `TerminalRepr`, the type `repr_failure` may return.
- Whether the process ends with the session: pytest's console entry point (`_console_main` in
  `_pytest.config`; `console_main` before pytest 9.1) and `_pytest.main.wrap_session`, looked for on
  the call stack (session/gcfreeze.py).

pyproject.toml bounds pytest and pytest-dependency to the versions this is tested with."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import FrameType
from typing import Any

import pytest
from _pytest._code.code import TerminalRepr
from _pytest.junitxml import LogXML, xml_key
from pytest_dependency import DependencyItemStatus, DependencyManager

__all__ = ["SCOPE", "TerminalRepr", "adopt_result", "junit_xml", "process_ends_with_session", "recorded_result",
           "terminal_width", "trust_as_passed"]

SCOPE = "session"
Phases = Mapping[str, str | None]  # "setup"/"call"/"teardown" → "passed", "failed", "skipped" or None


def _manager(item: pytest.Item) -> DependencyManager:
    manager = DependencyManager.getManager(item, scope=SCOPE)
    assert manager is not None, "pytest-dependency is not active"
    return manager


def recorded_result(item: pytest.Item, name: str) -> tuple[bool, Phases] | None:
    """(passed, phases) of the step `name` as pytest-dependency knows it in this process, or None."""
    status = _manager(item).results.get(name)
    if status is None:
        return None
    return bool(status.isSuccess()), dict(status.results)


def adopt_result(item: pytest.Item, name: str, phases: Phases) -> None:
    """Make a result from elsewhere (another worker, a recorded run) pytest-dependency's own."""
    status = DependencyItemStatus()
    status.results = dict(phases)
    _manager(item).results[name] = status


def trust_as_passed(item: pytest.Item, name: str) -> None:
    adopt_result(item, name, dict.fromkeys(DependencyItemStatus.Phases, "passed"))


def terminal_width(config: pytest.Config) -> int:
    """The terminal's width as pytest knows it (COLUMNS, or the real terminal, or 80)."""
    width: int = config.get_terminal_writer().fullwidth
    return width


def junit_xml(config: pytest.Config) -> LogXML | None:
    """pytest's JUnit writer of this process, when `--junitxml` is given."""
    xml: Any = config.stash.get(xml_key, None)
    return xml


def process_ends_with_session(config: pytest.Config) -> bool:
    """An xdist worker, or the `pytest` command (pytest's console entry point) running one session.
    pytest.main() called from elsewhere, or a session inside a session, is False: the safe answer."""
    if hasattr(config, "workerinput"):
        return True
    sessions, command = 0, False
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        module, function = frame.f_globals.get("__name__"), frame.f_code.co_name
        sessions += module == "_pytest.main" and function == "wrap_session"
        command = command or (module == "_pytest.config" and function in ("_console_main", "console_main"))
        frame = frame.f_back
    return command and sessions == 1
