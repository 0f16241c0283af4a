"""`python -m pytest_waves schema`: the plan's JSON Schema, for editors that validate YAML."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .model import COMMON_STEP_KEYS, Plan, When
from .steps import registry


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
    args = parser.parse_args(argv)
    if args.command == "schema":
        json.dump(plan_schema(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
