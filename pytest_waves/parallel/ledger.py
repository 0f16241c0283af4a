"""What finished, shared by every process of one run, so the gate holds across xdist workers.

pytest-dependency keeps results in the memory of one process; a step on worker gw1 cannot see that
its dependency passed on gw0. Each finished step is therefore written here (one small JSON file per
dependency name, written atomically: a session/results.py `Result`), and a worker about to run a
dependant waits for those results and adopts them into its own store (and so into its
pytest-dependency manager), so the `dependency` marks mean the same thing under `-n 8` as under `-n 0`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

from pytest_waves.session.results import Result

STOP = "stop"  # written when the run is stopping (-x, --maxfail): waiting workers give up at once


LEDGER_KEY = "waves_ledger"  # the workerinput key by which workers find the controller's ledger


class Stopped(Exception):
    """The run stops before the awaited steps finished."""


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls) -> Ledger:
        return cls(Path(tempfile.mkdtemp(prefix="pytest-waves-ledger-")))

    def _file(self, name: str) -> Path:
        return self.path / (hashlib.sha1(name.encode()).hexdigest() + ".json")

    def record(self, name: str, entry: Result) -> None:
        data = json.dumps({"name": name, **asdict(entry)})
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            handle.write(data)
        os.replace(tmp, self._file(name))  # readers see nothing or the whole entry

    def get(self, name: str) -> Result | None:
        try:
            data = json.loads(self._file(name).read_text())
        except FileNotFoundError:
            return None
        return Result(phases=data["phases"], cause=data["cause"], gated=data["gated"])

    def stop(self) -> None:
        (self.path / STOP).touch()

    @property
    def stopped(self) -> bool:
        return (self.path / STOP).exists()

    def wait(self, names: Iterable[str], alive: Callable[[], bool] = lambda: True) -> dict[str, Result]:
        """Block until every name has an entry; raise Stopped if the run stops or `alive()` turns false.

        Polling a local directory costs microseconds a round; the sleep grows from 1 ms to 5 ms, so a
        dependant starts within milliseconds of its dependency and an hours-long wait stays cheap.
        """
        found: dict[str, Result] = {}
        missing = [name for name in names]
        delay = 0.001
        while True:
            for name in list(missing):
                entry = self.get(name)
                if entry is not None:
                    found[name] = entry
                    missing.remove(name)
            if not missing:
                return found
            if self.stopped or not alive():
                raise Stopped(", ".join(missing))
            time.sleep(delay)
            delay = min(delay * 2, 0.005)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
