"""Everything pytest-waves takes from pytest-xdist, in one place: the types its hooks pass, its
default for `--max-worker-restart`, `LoadScheduling`, which scheduler.py subclasses (it keeps the
base class's `node2pending`, `node2collection`, `collection_is_completed` and
`_check_nodes_have_same_collection`, and replaces its dispatching), and the worker's loop, which
`run_alone` adapts. pyproject.toml bounds pytest-xdist to the versions this is tested with."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pytest
from xdist.remote import Producer

if TYPE_CHECKING:
    from xdist.scheduler import LoadScheduling
    from xdist.workermanage import WorkerController

__all__ = ["LoadScheduling", "Producer", "WorkerController", "max_worker_restarts", "stop_workers",
           "can_run_alone", "run_alone", "report_different_collection", "hold_worker_status",
           "count_from_the_first_collection"]


def __getattr__(name: str) -> Any:
    """xdist's scheduling and worker-management modules are the controller's: a worker imports this
    module for `run_alone`, and loading them there would add to every worker's start-up."""
    if name == "LoadScheduling":
        from xdist.scheduler import LoadScheduling

        return LoadScheduling
    if name == "WorkerController":
        from xdist.workermanage import WorkerController

        return WorkerController
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _worker_status(config: pytest.Config | None) -> Any:
    """xdist's writer of the worker status line (its TerminalDistReporter), if this run has one."""
    dsession = config.pluginmanager.getplugin("dsession") if config is not None else None
    return getattr(dsession, "trdist", None)


def hold_worker_status(config: pytest.Config | None) -> None:
    """On a terminal, xdist redraws its line of worker states (`gw0 [12] / gw1 C / …`) in place as
    each worker finishes collecting. Once steps run before the last worker has collected
    (scheduler.py), that redraw would write over their progress: from now on the line stays."""
    status = _worker_status(config)
    if status is not None and hasattr(status, "setstatus"):
        setstatus = status.setstatus
        status.setstatus = lambda *args, **kwargs: setstatus(*args, **{**kwargs, "show": False})


def count_from_the_first_collection(config: pytest.Config | None) -> None:
    """xdist's status line says `8 workers [400 items]` only once every worker has collected, and
    until then `collecting: 1/8 workers`. Work starts at the first collection (scheduler.py), and that
    is when the line is last shown (in a CI log, the only time): from then on it gives the count."""
    status = _worker_status(config)
    if config is None or not hasattr(status, "getstatus") or getattr(status, "_status", None) is None:
        return
    from xdist.dsession import WorkerStatus

    getstatus, quiet = status.getstatus, config.option.verbose < 0  # quiet: xdist's own words

    def counted() -> str:
        done = [count for state, count in status._status.values() if state == WorkerStatus.CollectionDone]
        if not done or quiet:
            return getstatus()
        workers, items = len(status._status), done[0]
        return f"{workers} worker{'s' * (workers != 1)} [{items} item{'s' * (items != 1)}]"

    status.getstatus = counted


def report_different_collection(config: pytest.Config | None, first: Sequence[str], other: Sequence[str],
                                first_worker: str, worker: str) -> None:
    """A worker collected other tests than the first: a collection error, worded as xdist words it."""
    from xdist.report import report_collection_diff

    message = report_collection_diff(first, other, first_worker, worker)
    if message and config is not None:
        report = pytest.CollectReport(nodeid=worker, outcome="failed", longrepr=message, result=[])
        config.hook.pytest_collectreport(report=report)


def max_worker_restarts(config: pytest.Config) -> int | None:
    """How many crashed workers xdist replaces before giving up (None: no limit)."""
    from xdist.dsession import (
        get_default_max_worker_restart,  # heavy: imported by the controller only
    )

    restarts: int | None = get_default_max_worker_restart(config)
    return restarts


def stop_workers(config: pytest.Config) -> None:
    """Wait for the workers to end, as xdist does at the end of its session (teardown_nodes: up to
    its exit timeout, then they are killed), but now: what they leave behind can then be read."""
    session = config.pluginmanager.getplugin("dsession")
    nodes = getattr(session, "nodemanager", None)
    if nodes is not None:
        nodes.teardown_nodes()


# The pytest-xdist releases whose worker loop `run_alone` has been checked against, line by line.
RUN_ALONE_TESTED = ((3, 7), (3, 8))


def can_run_alone(version: str | None = None) -> bool:
    """Whether this pytest-xdist's worker loop is the one `run_alone` adapts: a release it was
    checked against (3.7 brought a `TestQueue` that can be looked into). On any other, steps wait for
    their successor as xdist's items do, and the scheduler sends follow-ups (scheduler.py): slower
    on some plans, never wrong. The controller asks, and the workers, which run the same
    installation (pytest-waves allows only `popen` workers), then adapt their loop."""
    import xdist
    import xdist.remote as remote

    found = re.match(r"(\d+)\.(\d+)", version if version is not None else getattr(xdist, "__version__", ""))
    if found is None or (int(found[1]), int(found[2])) not in RUN_ALONE_TESTED:
        return False
    queue, interactor = getattr(remote, "TestQueue", None), getattr(remote, "WorkerInteractor", None)
    return all(hasattr(queue, name) for name in ("get", "lock")) and hasattr(interactor, "run_one_test")


def run_alone(config: pytest.Config, alone: Callable[[pytest.Item], bool]) -> None:
    """On an xdist worker: start an item for which `alone(item)` holds as soon as it is its turn.

    xdist's worker starts an item only once it holds the next one, because pytest's teardown is
    told what comes next (`nextitem`: what to keep set up). A plan step uses no fixtures, so it
    need not wait: with nothing queued after it, it runs and tears down as a last item would, and
    the worker then waits for its next item. Once an item that is not alone (a plain test, which
    may hold session fixtures that such a teardown would end) has started here, every later item
    waits for its successor, as in xdist; scheduler.py makes the same distinction."""
    interactor: Any = next((plugin for plugin in config.pluginmanager.get_plugins()
                            if type(plugin).__name__ == "WorkerInteractor"), None)
    if interactor is None or not hasattr(interactor, "torun"):
        raise pytest.UsageError("pytest-waves: this pytest-xdist worker has no queue to run plan steps from "
                                "(pytest-xdist 3.7 or later is needed)")
    import xdist.remote as remote

    title = getattr(remote, "worker_title", lambda _: None)  # `ps` shows what a worker runs (setproctitle)
    waited = False  # whether an item that needs its successor has started on this worker

    def run_one_test() -> None:
        nonlocal waited
        index = interactor.item_index = interactor.nextitem_index  # xdist's reports are tagged with it
        session, items = interactor.session, interactor.session.items
        waited = waited or not alone(items[index])
        upcoming = interactor.torun.get() if waited else _queued(interactor.torun)
        title(f"[pytest-xdist running] {items[index].nodeid}")
        start = time.perf_counter()
        config.hook.pytest_runtest_protocol(item=items[index],
                                            nextitem=items[upcoming] if isinstance(upcoming, int) else None)
        duration = time.perf_counter() - start
        title("[pytest-xdist idle]")
        interactor.sendevent("runtest_protocol_complete", item_index=index, duration=duration)
        if upcoming is None and not (session.shouldfail or session.shouldstop):  # else xdist's loop ends
            upcoming = interactor.torun.get()
        interactor.nextitem_index = upcoming

    interactor.run_one_test = run_one_test


def _queued(queue: Any) -> object | None:
    """The next item index (or xdist's shutdown marker) if one has arrived, without waiting."""
    with queue.lock() as waiting:
        return waiting.popleft() if waiting else None
