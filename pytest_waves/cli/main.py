"""`python -m pytest_waves schema [--report]`: the plan's (or the JSON report's) JSON Schema.
`python -m pytest_waves waves PLAN [--write]`: the waves the dependency graph implies (derive.py).
`python -m pytest_waves report JUNIT...`: one table from the JUnit files of several runs (reporting/junit.py).
`python -m pytest_waves workflow PLAN`: the plan as a GitHub Actions workflow (workflow.py)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pytest_waves.cli.derive import branch_changes, derive, describe, unsaid_stacks, write
from pytest_waves.engine.masking import mask
from pytest_waves.plan.kinds import plan_model
from pytest_waves.plan.loader import PlanError, load_plan
from pytest_waves.steps import registry
from pytest_waves.steps.base import StepFailed


def plan_schema() -> dict[str, Any]:
    """The plan's JSON Schema, as pydantic writes it from the plan model of the installed step kinds."""
    return plan_model(_step_kinds()).model_json_schema()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_waves", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    schema = commands.add_parser("schema", help="print the plan's JSON Schema")
    schema.add_argument("--report", action="store_true", help="the JSON report's schema instead")
    merged = commands.add_parser("report", help="merge JUnit files of several runs into one table")
    merged.add_argument("junit", type=Path, nargs="+")
    merged.add_argument("--plan", type=Path, help="the plan (default: the one the JUnit files name)")
    merged.add_argument("--repo", help="the checkout, when the plan's repository.path does not exist here")
    merged.add_argument("--markdown", type=Path, help="write the Markdown report here")
    merged.add_argument("--json", type=Path, help="write the JSON report here")
    actions = commands.add_parser("workflow", help="print (or -o write) a GitHub Actions workflow for the plan")
    actions.add_argument("plan", type=Path)
    actions.add_argument("-o", "--output", type=Path, help="write it here (e.g. .github/workflows/waves.yml)")
    actions.add_argument("--python", default="3.11")
    actions.add_argument("--install", required=True, help="the command that installs pytest-waves in a job, e.g. "
                         "\"pip install 'pytest-waves @ git+https://github.com/OWNER/pytest-waves'\" "
                         "(it is not on PyPI)")
    actions.add_argument("--runs-on", default="ubuntu-latest")
    actions.add_argument("--repo", help="pass --waves-repo REPO in the jobs (e.g. `.`: the checked-out repository)")
    waves = commands.add_parser("waves", help="print (or --write) the waves the dependencies imply")
    waves.add_argument("plan", type=Path)
    waves.add_argument("--write", action="store_true", help="rewrite the plan's waves, keeping its comments")
    waves.add_argument("--repo", help="the checkout whose branches are compared (default: repository.path)")
    waves.add_argument("--no-git", action="store_true", help="ignore the branches; dependencies only")
    args = parser.parse_args(argv)
    if args.command == "schema":
        from pytest_waves.reporting.schema import ReportDocument

        document = ReportDocument.model_json_schema(by_alias=True) if args.report else plan_schema()
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    try:
        return {"waves": _waves, "report": _report, "workflow": _workflow}[args.command](args)
    except PlanError as error:
        print(mask(f"error: invalid wave plan: {error}"), file=sys.stderr)
        return 2


def _report(args: argparse.Namespace) -> int:
    import pytest_waves.reporting.rows as rows
    from pytest_waves.reporting.junit import outcomes_from, property_values
    from pytest_waves.reporting.publish import publish

    missing = [str(path) for path in args.junit if not path.is_file()]
    if missing:
        print(f"error: no such JUnit file: {', '.join(missing)}", file=sys.stderr)
        return 2
    plans = [args.plan] if args.plan else [Path(p) for p in property_values(args.junit, "waves.plan_file")]
    if len(plans) != 1:
        print("error: say which plan with --plan (the JUnit files name "
              f"{', '.join(map(str, plans)) or 'none'})", file=sys.stderr)
        return 2
    loaded = load_plan(plans[0], _step_kinds(), args.repo)
    named = property_values(args.junit, "waves.plan")
    if loaded.key not in named:
        print(f"error: the JUnit files hold no step of plan {loaded.key!r} ({plans[0]}); they name "
              f"{', '.join(map(repr, named)) or 'no plan'}", file=sys.stderr)
        return 2
    report = rows.build(loaded, outcomes_from(args.junit, loaded))
    for line in rows.terminal_lines(report, shutil.get_terminal_size().columns):
        print(mask(line))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    publish(report, markdown=args.markdown, as_json=args.json, step_summary=Path(summary) if summary else None)
    return 1 if report.failed else 0


def _workflow(args: argparse.Namespace) -> int:
    from pytest_waves.cli.workflow import RunnerError, workflow

    loaded = load_plan(args.plan, _step_kinds(), None)
    try:
        text = workflow(loaded, str(args.plan), python=args.python, install=args.install, runs_on=args.runs_on,
                        repo=args.repo)
    except RunnerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}: {len(loaded.order)} issue jobs and a report job")
    else:
        sys.stdout.write(text)
    return 0


def _step_kinds() -> Mapping[str, Any]:
    """Built-in kinds and those of installed pytest plugins that implement pytest_waves_step_kinds."""
    contributed = []
    for entry in entry_points(group="pytest11"):
        hook = getattr(entry.load(), "pytest_waves_step_kinds", None)
        if hook is not None:
            contributed.append(hook())
    return registry(contributed)


def _waves(args: argparse.Namespace) -> int:
    import git

    kinds = _step_kinds()
    try:
        loaded = load_plan(args.plan, kinds, args.repo)
        changed = {} if args.no_git else branch_changes(loaded)
        derived = derive(loaded, changed)
        for line in [*describe(loaded, derived), *([] if args.no_git else unsaid_stacks(loaded))]:
            print(mask(line))
        if args.write:
            write(loaded, derived, kinds)
            print(f"wrote {len(derived.waves)} waves into {args.plan}")
    except (StepFailed, git.GitCommandError) as error:
        reason = error.summary if isinstance(error, StepFailed) else str(error.stderr).strip() or str(error)
        print(mask(f"error: {reason} (--no-git derives from the dependencies alone)"), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
