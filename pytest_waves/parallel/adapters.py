"""Everything pytest-waves takes from pytest-xdist, in one place: the types its hooks pass, its
default for `--max-worker-restart`, and `LoadScheduling`, which scheduler.py subclasses: it keeps
the base class's `node2pending`, `node2collection`, `collection_is_completed` and
`_check_nodes_have_same_collection`, and replaces its dispatching.
pyproject.toml bounds pytest-xdist to the versions this is tested with."""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScheduling
from xdist.workermanage import WorkerController

__all__ = ["LoadScheduling", "Producer", "WorkerController", "max_worker_restarts", "stop_workers"]


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
