"""A plan run's long-lived objects, kept out of the garbage collector.

The engine's modules, pydantic's schemas, the plan and its items live as long as the session, and
every full collection walks them again: pytest runs two as a session ends, more come as steps run,
and the interpreter runs one at exit. In a process that ends with the session (the `pytest` command,
an xdist worker) they are frozen (`gc.freeze()`) once built and never thawed, so exit skips them too.
A session inside a process that goes on (pytester's in-process runs, a script calling pytest.main())
freezes nothing: what is frozen is never freed, and every finished run would stay in memory."""

from __future__ import annotations

import gc

import pytest

from pytest_waves.session.adapters import process_ends_with_session


def freeze(config: pytest.Config) -> None:
    """Freeze what exists now, if this process ends with the session."""
    if process_ends_with_session(config):
        gc.collect(1)  # the young garbage first (a sandbox build leaves ~200 objects): frozen, it would stay
        gc.freeze()
