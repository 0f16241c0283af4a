"""The ledger: what one process writes, another waits for; a stopping run releases the waiters."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from pytest_waves.parallel.ledger import Ledger, Stopped
from pytest_waves.session.results import Result

WRITER = """
import sys, time
from pathlib import Path
from pytest_waves.parallel.ledger import Ledger
from pytest_waves.session.results import Result
time.sleep(0.3)
Ledger(Path(sys.argv[1])).record("plan::issue154::clippy", Result(phases={"setup": "passed", "call": "failed",
                                                                         "teardown": "passed"},
                                                                 cause="step clippy failed"))
"""


@pytest.fixture
def ledger() -> Ledger:
    created = Ledger.create()
    yield created
    created.remove()
    assert not created.path.exists()


def test_an_entry_written_by_another_process_reaches_the_waiter(ledger: Ledger) -> None:
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(ledger.path)])
    entries = ledger.wait(["plan::issue154::clippy"])
    writer.wait(timeout=30)
    assert entries == {"plan::issue154::clippy": Result(phases={"setup": "passed", "call": "failed",
                                                               "teardown": "passed"},
                                                       cause="step clippy failed")}


def test_entries_already_there_are_returned_at_once(ledger: Ledger) -> None:
    done = Result(phases=dict.fromkeys(("setup", "call", "teardown"), "passed"))
    ledger.record("a", done)
    ledger.record("b", Result(phases={"setup": "skipped", "call": None, "teardown": "passed"}, cause="x", gated=True))
    assert ledger.wait(["a", "b"])["b"].gated
    assert ledger.get("missing") is None


def test_stopping_the_run_releases_a_waiter(ledger: Ledger) -> None:
    threading.Timer(0.2, ledger.stop).start()
    with pytest.raises(Stopped, match="plan::issue1::s1"):
        ledger.wait(["plan::issue1::s1"])


def test_a_dead_controller_releases_a_waiter(ledger: Ledger) -> None:
    deadline = time.monotonic() + 0.2
    with pytest.raises(Stopped):
        ledger.wait(["never"], alive=lambda: time.monotonic() < deadline)
