"""The run's options, in the `waves` group with ini fallbacks, read once into one typed `Settings`.

Imported by the entry point for every pytest run, with or without plans: it must stay light (only
pytest and the standard library)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("waves", "run a wave plan of dependent issues (pytest-waves)")
    group.addoption("--waves", action="append", default=[], metavar="PLAN",
                    help="run this wave plan (YAML); may be given more than once. ini: waves_plans")
    group.addoption("--waves-repo", metavar="PATH",
                    help="the repository checkout the plan works on, instead of the plan's repository.path. "
                         "ini: waves_repo")
    group.addoption("--waves-dry-run", action="store_true", default=None,
                    help="collect and report what each step would do; touch no repository. ini: waves_dry_run")
    group.addoption("--waves-report", metavar="PATH.md", help="write the success-metrics table as Markdown. "
                    "ini: waves_report")
    group.addoption("--waves-json", metavar="PATH", help="write the results as JSON. ini: waves_json")
    group.addoption("--waves-verify", action="store_true", default=None,
                    help="read-only acceptance: every step checks the state instead of changing it; agents are "
                         "not dispatched, nothing in any repository, remote or forge is written. ini: waves_verify")
    group.addoption("--waves-force-step", action="append", default=[], metavar="issueN[::STEP]",
                    help="run this agent step (or every agent step of issue N) even when its work is already "
                         "there; repeatable")
    group.addoption("--waves-logs", metavar="DIR",
                    help="write step logs under DIR/<plan>/<run>/ instead of .waves/logs next to the plan. "
                         "ini: waves_logs")
    group.addoption("--waves-comment", metavar="ISSUE", type=int,
                    help="post the success-metrics table as one comment on this issue of the plan's forge, "
                         "and edit that same comment on later runs. ini: waves_comment")
    group.addoption("--waves-fresh-sandbox", action="store_true", default=False,
                    help="rebuild the throwaway repository of a plan with `repository.sandbox`")
    group.addoption("--waves-wait", metavar="SECONDS", type=float, default=None,
                    help="when another run is working on the same repository, wait this long for it to end "
                         "(default 0: stop at once with an error naming it). ini: waves_wait")
    parser.addini("waves_plans", "wave plans to run when --waves is not given", type="paths", default=[])
    parser.addini("waves_repo", "default for --waves-repo", default="")
    parser.addini("waves_dry_run", "default for --waves-dry-run", type="bool", default=False)
    parser.addini("waves_report", "default for --waves-report", default="")
    parser.addini("waves_json", "default for --waves-json", default="")
    parser.addini("waves_comment", "default for --waves-comment", default="")
    parser.addini("waves_verify", "default for --waves-verify", type="bool", default=False)
    parser.addini("waves_logs", "default for --waves-logs", default="")
    parser.addini("waves_wait", "default for --waves-wait", default="0")


def plans_given(config: pytest.Config) -> list[Path]:
    return [Path(p) for p in config.getoption("--waves")] or list(config.getini("waves_plans"))


@dataclass(frozen=True)
class Settings:
    """Every option of a run with plans, each in its type, conflicts already refused."""

    plans: list[Path]
    repo: str | None
    dry_run: bool
    verify: bool
    report: Path | None
    json: Path | None
    comment: int | None
    logs: Path | None
    force_steps: frozenset[str]
    fresh_sandbox: bool
    wait: float
    worker: bool  # this process is an xdist worker
    collect_only: bool
    verbose: int

    @property
    def writes(self) -> bool:
        """May this process change repositories, remotes or forges? (A worker writes under its
        controller's lock: the controller answers for the run.)"""
        return not (self.dry_run or self.verify or self.collect_only)

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        def option(name: str) -> Any:
            value = config.getoption(f"--{name.replace('_', '-')}")
            return config.getini(name) if value in (None, "") else value

        settings = cls(
            plans=plans_given(config), repo=option("waves_repo") or None,
            dry_run=bool(option("waves_dry_run")), verify=bool(option("waves_verify")),
            report=Path(option("waves_report")) if option("waves_report") else None,
            json=Path(option("waves_json")) if option("waves_json") else None,
            comment=_number(option("waves_comment"), int, "waves_comment", "an issue number"),
            logs=Path(option("waves_logs")).resolve() if option("waves_logs") else None,
            force_steps=frozenset(config.getoption("--waves-force-step")),
            fresh_sandbox=bool(config.getoption("--waves-fresh-sandbox")),
            wait=_number(option("waves_wait"), float, "waves_wait", "a number of seconds") or 0.0,
            worker=hasattr(config, "workerinput"), collect_only=bool(config.option.collectonly),
            verbose=int(config.option.verbose))
        return settings

    def refuse_conflicts(self) -> None:
        """Options that contradict each other: a usage error (after the plans' own errors)."""
        if self.verify and self.dry_run:
            raise pytest.UsageError("--waves-verify checks the state and --waves-dry-run only describes the "
                                    "steps: choose one")
        read_only = [name for name, given in (("--waves-verify", self.verify), ("--waves-dry-run", self.dry_run),
                                              ("--collect-only", self.collect_only)) if given]
        if read_only and self.fresh_sandbox:
            raise pytest.UsageError(f"{read_only[0]} writes nothing, so it cannot rebuild the sandbox "
                                    "(--waves-fresh-sandbox)")


def _number(value: object, kind: type[int] | type[float], name: str, what: str) -> Any:
    if value in (None, ""):
        return None
    try:
        return kind(str(value))
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{name}: {value!r} is not {what}") from None
