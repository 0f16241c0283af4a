"""`python -m pytest_waves schema`: the plan's JSON Schema, for editors that validate YAML.
`python -m pytest_waves waves PLAN [--write]`: the waves the dependency graph implies (derive.py)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .derive import branch_changes, derive, describe, write
from .loader import PlanError, load_plan
from .model import COMMON_STEP_KEYS, Plan, When
from .steps import registry
from .steps.base import StepFailed


def plan_schema() -> dict[str, Any]:
    """The pydantic schema of the plan, with each step kind's own options in place of the raw step."""
    schema = Plan.model_json_schema()
    kinds = registry()
    step_forms: list[dict[str, Any]] = [{"type": "string", "enum": sorted(kinds)}]
    defs = schema.setdefault("$defs", {})
    defs["When"] = When.model_json_schema()
    for name, kind in sorted(kinds.items()):
        options = kind.Options.model_json_schema()
        defs.update(options.pop("$defs", {}))
        value: dict[str, Any] = {"anyOf": [options, {"type": "null"}]}
        if kind.shorthand:
            shorthand = options["properties"][kind.shorthand]
            value["anyOf"].append({k: v for k, v in shorthand.items() if k in ("type", "anyOf", "items")})
        step_forms.append({
            "type": "object", "additionalProperties": False, "required": [name],
            "properties": {name: value, "name": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"},
                           "when": {"$ref": "#/$defs/When"}},
        })
    defs["Step"] = {"description": f"one step kind key, plus optional {', '.join(COMMON_STEP_KEYS)}",
                    "anyOf": step_forms}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "pytest-waves plan"
    return schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_waves", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("schema", help="print the plan's JSON Schema")
    waves = commands.add_parser("waves", help="print (or --write) the waves the dependencies imply")
    waves.add_argument("plan", type=Path)
    waves.add_argument("--write", action="store_true", help="rewrite the plan's waves, keeping its comments")
    waves.add_argument("--repo", help="the checkout whose branches are compared (default: repository.path)")
    waves.add_argument("--no-git", action="store_true", help="ignore the branches; dependencies only")
    args = parser.parse_args(argv)
    if args.command == "schema":
        json.dump(plan_schema(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    return _waves(args)


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
        for line in describe(loaded, derived):
            print(line)
        if args.write:
            write(loaded, derived, kinds)
            print(f"wrote {len(derived.waves)} waves into {args.plan}")
    except PlanError as error:
        print(f"error: invalid wave plan: {error}", file=sys.stderr)
        return 2
    except (StepFailed, git.GitCommandError) as error:
        reason = error.summary if isinstance(error, StepFailed) else str(error.stderr).strip() or str(error)
        print(f"error: {reason} (--no-git derives from the dependencies alone)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
