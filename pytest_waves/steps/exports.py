"""The exports step: a symbol is public and reachable from the crate or package root."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pytest_waves.steps.base import StepContext, StepFailed, StepKind, StepOptions


class TargetOptions(StepOptions):
    os: Literal["linux", "macos", "windows", "ios", "android", "freebsd"] = Field(
        description="the target_os the symbol must be part of the crate on")
    features: tuple[str, ...] | None = Field(default=None, description="enabled features (default: the crate's "
                                             "default features)")
    test: bool = Field(default=False, description="evaluate cfg(test) as true")


class ExportsOptions(StepOptions):
    symbol: str | None = Field(default=None, description="path from the root: vm::Hypervisor (Rust) or "
                               "pkg.sub.Name (Python)")
    module: str | None = Field(default=None, description="Rust, instead of a symbol: this source file (relative "
                               "to root) is part of the crate")
    root: str = Field(default=".", description="crate dir (Cargo.toml), root .rs file, or Python package dir")
    language: Literal["rust", "python"] | None = None
    target: TargetOptions | list[TargetOptions] | None = Field(
        default=None, description="Rust: the target(s) on which the symbol must be reachable, its #[cfg] "
        "conditions evaluated for each (default: this machine's OS)")

    @model_validator(mode="after")
    def _one_subject(self) -> ExportsOptions:
        if (self.symbol is None) == (self.module is None):
            raise ValueError("name either a `symbol` or a `module` (a Rust source file)")
        return self


class Exports(StepKind[ExportsOptions]):
    read_only = True
    name = "exports"
    Options = ExportsOptions
    path_options = ("root", "module")

    def describe(self, options: ExportsOptions, ctx: StepContext) -> str:
        if options.module is not None:
            return f"check {options.module} is part of the crate at {options.root}"
        return f"check {options.symbol} is exported from {options.root}"

    def run(self, options: ExportsOptions, ctx: StepContext) -> str | None:
        from pytest_waves.engine.analysis import (
            check_export,  # the analyzers load only when a plan checks exports
        )

        try:
            if options.module is not None:
                from pytest_waves.engine.analysis import check_rust_module

                report = check_rust_module(ctx.worktree / options.root, ctx.worktree / options.root / options.module)
            else:
                assert options.symbol is not None
                report = check_export(ctx.worktree / options.root, options.symbol, options.language)
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
        conditions = [f"conditional: {cfg}" for cfg in report.cfg]
        if not report.ok:
            raise StepFailed(report.problem or f"{report.symbol} is not exported",
                             [*report.chain, *conditions])
        if report.language == "rust":
            conditions = self._on_targets(options, ctx, report.cfg, report.chain)
        return "; ".join([" → ".join(report.chain), *conditions])

    @staticmethod
    def _on_targets(options: ExportsOptions, ctx: StepContext, found: tuple[str, ...],
                    chain: tuple[str, ...]) -> list[str]:
        """The #[cfg] conditions on the way, evaluated for each target: one that is false there
        means the symbol is not part of the crate on that target."""
        from pytest_waves.engine.analysis.cfg import (
            Target,
            default_features,
            evaluate,
            predicate,
        )
        from pytest_waves.plan.model import current_os

        wanted = options.target if isinstance(options.target, list) else [options.target] if options.target else []
        crate = ctx.worktree / options.root
        targets = [Target(os=spec.os, test=spec.test, features=frozenset(spec.features)
                          if spec.features is not None else default_features(crate)) for spec in wanted]
        targets = targets or [Target(os=current_os(), features=default_features(crate))]
        notes: list[str] = []
        for target in targets:
            verdicts = [(cfg, evaluate(text, target)) for cfg in found if (text := predicate(cfg)) is not None]
            excluded = [cfg for cfg, verdict in verdicts if verdict is False]
            if excluded:
                raise StepFailed(f"{options.symbol or options.module} is not part of the crate on {target}: "
                                 "a #[cfg] on the way excludes it", [*chain, *(f"false on {target}: {cfg}" for cfg in excluded)])
            notes += [f"on {target}, cannot tell: {cfg}" for cfg, verdict in verdicts if verdict is None]
            notes += [f"on {target}: {cfg}" for cfg, verdict in verdicts if verdict is True]
        return notes
