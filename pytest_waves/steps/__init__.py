"""Step kinds: a registry that third-party plugins extend through `pytest_waves_step_kinds`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pytest_waves.steps.agent import AgentStep
from pytest_waves.steps.base import (
    NotVerifiable,
    StepContext,
    StepFailed,
    StepKind,
    StepOptions,
)
from pytest_waves.steps.deliverable import Deliverable
from pytest_waves.steps.exports import Exports
from pytest_waves.steps.git import Integrate, Push, Rebase, Worktree
from pytest_waves.steps.pr import Pr
from pytest_waves.steps.run import Run

__all__ = ["NotVerifiable", "StepContext", "StepFailed", "StepKind", "StepOptions", "registry"]

BUILTIN: tuple[type[StepKind[Any]], ...] = (Worktree, Rebase, Integrate, Deliverable, Exports, Run, AgentStep,
                                              Push, Pr)


def registry(contributed: Iterable[Iterable[type[StepKind[Any]]]] = ()) -> Mapping[str, StepKind[Any]]:
    """name → kind instance; a plugin's kind may not silently replace another one."""
    kinds: dict[str, StepKind[Any]] = {}
    for group in (BUILTIN, *contributed):
        for cls in group:
            if cls.name in kinds and type(kinds[cls.name]) is not cls:
                raise ValueError(f"step kind {cls.name!r} is registered twice "
                                 f"({type(kinds[cls.name]).__qualname__} and {cls.__qualname__})")
            kinds[cls.name] = cls()
    return kinds
