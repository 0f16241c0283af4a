"""What the plan needs of a step kind to validate a step: the plan layer's view of `steps.StepKind`.

The loader checks each step's options with its kind; the kinds themselves (steps/) build on the
plan. This protocol keeps that dependency one-way: plan → (nothing), steps → plan."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from pytest_waves.plan.model import Plan


class Kind(Protocol):
    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]]
    path_options: ClassVar[tuple[str, ...]]  # options that are paths inside the worktree
    read_only: ClassVar[bool]

    def parse_options(self, raw: Any) -> Any:
        """The step's raw value (a scalar short form, or a mapping) → the options' raw mapping."""

    def check_plan(self, options: Any, plan: Plan) -> str | None:
        """A problem between these options and the rest of the plan, or None."""

    def describe(self, options: Any, ctx: Any) -> str: ...

    def run(self, options: Any, ctx: Any) -> str | None: ...

    def verify(self, options: Any, ctx: Any) -> str | None: ...
