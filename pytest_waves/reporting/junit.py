"""`python -m pytest_waves report JUNIT...`: one success-metrics table from the JUnit files of several
runs (a CI job per issue, or several local runs), as the terminal table, Markdown and JSON.

Every step's testcase carries its plan, wave, issue, step and facts as properties, so the steps'
reports can be rebuilt and folded exactly as a single run folds them (outcomes.py). When an issue
ran in several files, the newest file's testcases count. An issue whose job never ran because a
dependency failed (GitHub Actions skips it) is shown as blocked by that dependency.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_waves.plan.loader import LoadedPlan
from pytest_waves.reporting.outcomes import Outcomes
from pytest_waves.reporting.status import Status

NUMERIC = {"waves.exit_code": int, "waves.start": float, "waves.stop": float}


def property_values(paths: Iterable[Path], name: str) -> list[str]:
    """Every value the JUnit files give property `name`, once each, in order: `waves.plan_file`
    (the plans they ran), `waves.plan` (the plans whose steps they hold)."""
    found: list[str] = []
    for path in paths:
        for prop in ET.parse(path).getroot().iter("property"):
            if prop.get("name") == name and prop.get("value") not in found:
                found.append(str(prop.get("value")))
    return found


def outcomes_from(paths: Iterable[Path], loaded: LoadedPlan) -> Outcomes:
    latest: dict[tuple[str, str], tuple[datetime, ET.Element]] = {}  # step or check → (its run's time, testcase)
    for path in paths:
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            stamp = _moment(suite.get("timestamp"), path)
            for case in suite.iter("testcase"):
                props = _properties(case)
                if props.get("waves.plan") != loaded.key:
                    continue  # another plan's step, or not a plan's item at all
                if "waves.issue" in props:
                    key = (f"#{props['waves.issue']}", props.get("waves.step", ""))
                elif "waves.check" in props:  # a wave-level merge check
                    key = (f"wave {props.get('waves.wave', '')}", props["waves.check"])
                else:
                    continue
                if key not in latest or latest[key][0] <= stamp:
                    latest[key] = (stamp, case)
    outcomes = Outcomes()
    for _, case in latest.values():
        outcomes.add(_report(case))
    _blocked_by_skipped_jobs(outcomes, loaded)
    return outcomes


def _moment(stamp: str | None, path: Path) -> datetime:
    """When a run was, comparable across files: pytest writes local time with its offset."""
    if stamp:
        moment = datetime.fromisoformat(stamp)
        return moment if moment.tzinfo else moment.astimezone()
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def _properties(case: ET.Element) -> dict[str, str]:
    holder = case.find("properties")
    return {} if holder is None else {str(p.get("name")): str(p.get("value")) for p in holder.iter("property")}


def _report(case: ET.Element) -> pytest.TestReport:
    values: list[tuple[str, object]] = []
    for name, value in _properties(case).items():
        convert = NUMERIC.get(name)
        values.append((name, None if value == "None" else convert(value) if convert else value))
    location = (str(case.get("file", "")), int(case.get("line", 0)), str(case.get("name", "")))
    nodeid = f"{case.get('classname', '')}::{case.get('name', '')}"
    duration = float(case.get("time", 0))
    failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
    if error is not None:  # "???": xdist's report for a step whose worker crashed
        when = "???" if ("waves.crashed", "1") in values else "setup"
        return pytest.TestReport(nodeid, location, {}, "failed", error.get("message", ""), when,  # type: ignore[arg-type]
                                 duration=duration, user_properties=values)
    if failure is not None:
        return pytest.TestReport(nodeid, location, {}, "failed", failure.get("message", ""), "call",
                                 duration=duration, user_properties=values)
    if skipped is not None:
        message = str(skipped.get("message", ""))
        if skipped.get("type") == "pytest.xfail":  # a deferrable issue's failure
            return pytest.TestReport(nodeid, location, {}, "skipped", None, "call", duration=duration,
                                     user_properties=values, wasxfail=message)
        return pytest.TestReport(nodeid, location, {}, "skipped", (location[0], location[1], message), "setup",
                                 duration=duration, user_properties=values)
    return pytest.TestReport(nodeid, location, {}, "passed", None, "call", duration=duration,
                             user_properties=values)


def _blocked_by_skipped_jobs(outcomes: Outcomes, loaded: LoadedPlan) -> None:
    """An issue with no report at all whose dependency failed (or was blocked) is blocked, as the
    gate would have said in a single run."""
    for number in loaded.order:
        if outcomes.steps.get((loaded.key, number)):
            continue
        for dep in loaded.deps[number]:
            status = outcomes.issue(loaded, dep).status
            if status in (Status.FAILED, Status.BLOCKED, Status.DEFERRED) and loaded.applicable[number]:
                step = loaded.applicable[number][0]  # the first step that applies on this machine
                reason = f"blocked by #{dep} (its job {status})"
                props: list[tuple[str, object]] = [("waves.plan", loaded.key), ("waves.issue", number),
                                                   ("waves.step", step)]
                outcomes.add(pytest.TestReport(f"issue{number}::{step}", (str(loaded.path), 0, ""), {},
                                               "skipped", (str(loaded.path), 0, reason), "setup",
                                               user_properties=props))
                break
