"""Hooks pytest-waves adds (registered through `pytest_addhooks`)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_waves_step_kinds() -> list[type[Any]]:
    """Return step kinds (subclasses of ``pytest_waves.steps.StepKind``) to add to the registry.

    Called once per session before any plan is loaded; every implementation's list is used.
    """
    raise NotImplementedError
