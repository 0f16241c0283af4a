"""The exports step: a symbol is public and reachable from the crate or package root."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pytest_waves.steps.base import StepContext, StepFailed, StepKind, StepOptions


class ExportsOptions(StepOptions):
    symbol: str = Field(description="path from the root: vm::Hypervisor (Rust) or pkg.sub.Name (Python)")
    root: str = Field(default=".", description="crate dir (Cargo.toml), root .rs file, or Python package dir")
    language: Literal["rust", "python"] | None = None


class Exports(StepKind[ExportsOptions]):
    read_only = True
    name = "exports"
    Options = ExportsOptions
    path_options = ("root",)

    def describe(self, options: ExportsOptions, ctx: StepContext) -> str:
        return f"check {options.symbol} is exported from {options.root}"

    def run(self, options: ExportsOptions, ctx: StepContext) -> str | None:
        from pytest_waves.engine.analysis import (
            check_export,  # the analyzers load only when a plan checks exports
        )

        try:
            report = check_export(ctx.worktree / options.root, options.symbol, options.language)
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
        conditions = [f"conditional: {cfg}" for cfg in report.cfg]
        if not report.ok:
            raise StepFailed(report.problem or f"{options.symbol} is not exported",
                             [*report.chain, *conditions])
        return "; ".join([" → ".join(report.chain), *conditions])
