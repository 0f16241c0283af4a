"""The Markdown report's Mermaid timeline, read as a person reads it: rendered by the real Mermaid CLI
(tests/mermaid_cli.py), failed and deferred issues drawn and labelled differently, blocked issues as
markers in their wave, and ticks that say something for a half-second run and a two-day one."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mermaid_cli
import pytest

from conftest import GitWorld, plan_text
from pytest_waves.reporting import timeline
from pytest_waves.reporting.schema import ReportDocument

# #1 passes, #2 fails, #3 fails but is deferrable; #4 waits for #2, #5 for #3, #6 for #4 (blocked in a chain).
WAVES = """
waves:
  - id: 1
    name: Build
    issues:
      - {number: 1, title: "Base: the core", branch: b1, steps: [{run: {cmd: "true", allow_empty: true}}]}
      - {number: 2, title: Broken, branch: b2, steps: [{name: tests, run: {cmd: "exit 1"}}]}
      - {number: 3, title: Optional, branch: b3, deferrable: true, steps: [{name: tests, run: {cmd: "exit 1"}}]}
  - id: 2
    name: Ship
    issues:
      - {number: 4, title: On broken, branch: b4, depends_on: [1, 2], steps: [{run: {cmd: "true"}}]}
      - {number: 5, title: On optional, branch: b5, depends_on: [3], steps: [{run: {cmd: "true"}}]}
  - id: 3
    name: Later
    issues:
      - {number: 6, title: Far, branch: b6, depends_on: [4], steps: [{run: {cmd: "true"}}]}
"""

# Without the renderer the pictures cannot be checked. CI installs it and names it in MERMAID_CLI
# (.ci/run): where that is set, the checks run, and fail if it does not work.
REQUIRED = "MERMAID_CLI" in os.environ
needs_mmdc = pytest.mark.skipif(mermaid_cli.mmdc() is None and not REQUIRED,
                                reason="the Mermaid CLI is not installed (see tests/mermaid_cli.py)")


@pytest.fixture
def report(pytester: pytest.Pytester, world: GitWorld) -> tuple[str, ReportDocument]:
    (pytester.path / "plan.yaml").write_text(plan_text(world, WAVES))
    pytester.runpytest("--waves", "plan.yaml", "--waves-report=r.md", "--waves-json=r.json").assert_outcomes(
        passed=1, failed=1, skipped=3, xfailed=1)
    return ((pytester.path / "r.md").read_text(),
            ReportDocument.model_validate_json((pytester.path / "r.json").read_text()))


def _tasks(markdown: str) -> list[tuple[str, str]]:
    """(label, tag) of each gantt task, entities decoded as Mermaid shows them."""
    found = re.findall(r"^    (?!title|dateFormat|axisFormat|tickInterval|todayMarker|section)(.+?) :(\w+), ",
                       mermaid_cli.block(markdown), re.M)
    return [(re.sub(r"#(\d+);", lambda m: chr(int(m[1])), label), tag) for label, tag in found]


def test_failed_deferred_and_blocked_issues_are_drawn_and_said_differently(report: tuple[str, ReportDocument]) -> None:
    markdown, _ = report
    assert _tasks(markdown) == [
        ("#1 Base: the core", "done"),
        ("#2 Broken — failed", "crit"),
        ("#3 Optional — deferred", "active"),
        ("#4 On broken — blocked by #2", "milestone"),  # #1 passed: only #2 blocked it
        ("#5 On optional — blocked by #3", "milestone"),
        ("#6 Far — blocked by #4", "milestone"),
    ]
    sections = re.findall(r"^    section (.+)$", markdown, re.M)
    assert sections == ["Wave 1 Build", "Wave 2 Ship", "Wave 3 Later"]  # no wave vanishes


def test_a_blocked_marker_stands_where_its_blocker_ended(report: tuple[str, ReportDocument]) -> None:
    markdown, _ = report
    times = {m[1]: (int(m[2]), m[3]) for m in re.finditer(r":\w+, (\w+), (\d+), (\d+m?s?)$", markdown, re.M)}
    assert times["m4"] == (int(times["i2"][1]), "0ms")  # #4 was blocked when #2 ended
    assert times["m5"] == (int(times["i3"][1]), "0ms")
    assert times["m6"] == times["m4"]  # blocked by a blocked issue: at the same moment


def test_a_short_run_reads_in_seconds_from_its_start(report: tuple[str, ReportDocument]) -> None:
    markdown, _ = report
    assert "    axisFormat %-S.%L s\n" in markdown and "(seconds from its start)" in markdown
    starts = [int(m) for m in re.findall(r":\w+, \w+, (\d+), ", markdown)]
    assert min(starts) == 946_684_800_000  # the run's first step starts at 0 s


def test_with_v_each_step_is_a_bar_and_blocked_issues_a_marker(pytester: pytest.Pytester, world: GitWorld) -> None:
    (pytester.path / "plan.yaml").write_text(plan_text(world, WAVES))
    pytester.runpytest("--waves", "plan.yaml", "--waves-report=r.md", "-v")
    tasks = _tasks((pytester.path / "r.md").read_text())
    assert ("#2 tests — failed", "crit") in tasks and ("#3 tests — deferred", "active") in tasks
    assert ("#6 Far — blocked by #4", "milestone") in tasks
    sections = re.findall(r"^    section (.+)$", (pytester.path / "r.md").read_text(), re.M)
    assert sections == ["Wave 1 Build", "Wave 2 Ship", "Wave 3 Later"]  # steps stay in their waves


@needs_mmdc
def test_the_real_mermaid_renderer_draws_what_the_report_says(report: tuple[str, ReportDocument], tmp_path: Path) -> None:
    markdown, _ = report
    drawn = mermaid_cli.picture(mermaid_cli.render(mermaid_cli.block(markdown), tmp_path / "t.svg"))
    assert [(bar.drawn, bar.label) for bar in drawn.bars] == [
        ("done", "#1 Base: the core"), ("crit", "#2 Broken — failed"), ("active", "#3 Optional — deferred"),
        ("milestone", "#4 On broken — blocked by #2"), ("milestone", "#5 On optional — blocked by #3"),
        ("milestone", "#6 Far — blocked by #4")]
    assert drawn.sections == ["Wave 1 Build", "Wave 2 Ship", "Wave 3 Later"]
    assert drawn.title == "demo run (seconds from its start)"
    _readable(drawn.ticks, r"\d\.\d{3} s")
    assert drawn.ticks[0] == "0.000 s"


def _stretched(document: ReportDocument, seconds: float) -> Any:
    """The real run's report with its times stretched to last `seconds`."""
    moments = [datetime.fromisoformat(t) for row in document.issues for s in row.steps for t in (s.start, s.end) if t]
    first, length = min(moments), (max(moments) - min(moments)).total_seconds()

    def stretch(iso: str | None) -> str | None:
        return iso and (first + (datetime.fromisoformat(iso) - first) * (seconds / length)).isoformat()
    issues = [row.model_copy(update={"steps": [s.model_copy(update={"start": stretch(s.start), "end": stretch(s.end)})
                                               for s in row.steps]}) for row in document.issues]
    return SimpleNamespace(loaded=SimpleNamespace(plan=SimpleNamespace(project="demo")), issues=issues, merges=[])


def _readable(ticks: list[str], shape: str) -> None:
    assert 3 <= len(ticks) <= 11, ticks
    assert len(set(ticks)) == len(ticks), f"ticks that say the same: {ticks}"
    assert all(re.fullmatch(shape, tick) for tick in ticks), ticks


@pytest.mark.parametrize(("seconds", "axis", "interval", "shape"), [
    (45, "%-S s", "5second", r"\d{1,2} s"),
    (100, "%H:%M:%S", "10second", r"\d\d:\d\d:\d\d"),
    (600, "%H:%M", "1minute", r"\d\d:\d\d"),
    (3 * 3600, "%H:%M", "30minute", r"\d\d:\d\d"),
    (2 * 86400, "%b %-d %H:%M", "6hour", r"[A-Z][a-z]{2} \d{1,2} \d\d:\d\d"),
])
def test_longer_runs_get_round_ticks(report: tuple[str, ReportDocument], tmp_path: Path, seconds: float, axis: str,
                                     interval: str, shape: str) -> None:
    text = "\n".join(timeline.render(_stretched(report[1], seconds), per_step=False)) + "\n"
    assert f"    axisFormat {axis}\n" in text and f"    tickInterval {interval}\n" in text
    if mermaid_cli.mmdc() or REQUIRED:  # the picture too, where the renderer is
        drawn = mermaid_cli.picture(mermaid_cli.render(mermaid_cli.block(text), tmp_path / "t.svg"))
        _readable(drawn.ticks, shape)
        assert [bar.drawn for bar in drawn.bars] == ["done", "crit", "active", "milestone", "milestone", "milestone"]


@needs_mmdc
def test_the_renderer_check_fails_on_a_diagram_mermaid_rejects(tmp_path: Path) -> None:
    """The check above could not pass a broken block: a raw `:` in a name is a parse error."""
    import subprocess
    with pytest.raises(subprocess.CalledProcessError, match="mmdc|returned non-zero"):
        mermaid_cli.render("gantt\n    dateFormat x\n    a: b :done, i1, 0, 5\n", tmp_path / "t.svg")


def _edited(document: ReportDocument, project: str = "demo", **rows: dict[str, Any]) -> Any:
    """The real run's report with some rows changed (by issue number: fields to replace)."""
    issues = [row.model_copy(update=rows.get(f"i{row.issue}", {})) for row in document.issues]
    return SimpleNamespace(loaded=SimpleNamespace(plan=SimpleNamespace(project=project)), issues=issues, merges=[])


def _untimed(row: Any) -> list[Any]:
    return [step.model_copy(update={"start": None, "end": None}) for step in row.steps]


def test_issues_without_a_timed_step_still_stand_in_their_wave(report: tuple[str, ReportDocument], tmp_path: Path) -> None:
    _, document = report
    rows = {row.issue: row for row in document.issues}
    edited = _edited(
        document,
        i2={"reason": "crashed its worker", "steps": _untimed(rows[2])},  # failed before any step was timed
        i1={"status": "not run", "steps_passed": 1, "steps_total": 3},  # only part of it was selected
        i5={"depends_on": [1, 3]},  # #1 was not selected (and passed before): only #3 blocked it
    )
    text = "\n".join(timeline.render(edited, per_step=False)) + "\n"
    tasks = _tasks(text)
    assert ("#1 Base: the core — partly run (1/3 steps passed)", "i1") in tasks  # no tag: Mermaid's plain bar
    assert ("#2 Broken — failed (crashed its worker)", "crit") in tasks
    assert ("#5 On optional — blocked by #3", "milestone") in tasks
    if mermaid_cli.mmdc() or REQUIRED:
        drawn = mermaid_cli.picture(mermaid_cli.render(mermaid_cli.block(text), tmp_path / "t.svg"))
        shown = {bar.label: bar.drawn for bar in drawn.bars}
        assert shown["#2 Broken — failed (crashed its worker)"] == "milestone crit"  # a red diamond
        assert shown["#1 Base: the core — partly run (1/3 steps passed)"] == "plain"


def test_a_run_in_which_only_blocked_issues_took_part_still_shows_them(report: tuple[str, ReportDocument]) -> None:
    _, document = report
    rows = {row.issue: row for row in document.issues}
    edited = _edited(document, **{f"i{n}": {"status": "not run", "steps": _untimed(rows[n])} for n in (1, 2, 3)})
    text = "\n".join(timeline.render(edited, per_step=False))
    assert [label for label, _ in _tasks(text + "\n")] == [
        "#4 On broken — blocked by #2", "#5 On optional — blocked by #3", "#6 Far — blocked by #4"]
    assert "section Wave 1 Build" not in text  # nothing of wave 1 took part


@needs_mmdc
def test_names_mermaid_would_read_as_syntax_are_shown_as_written(report: tuple[str, ReportDocument], tmp_path: Path) -> None:
    _, document = report
    title = "Vec<u8> & co: 100% {fast}; #1 %%{init: {}}%%"
    edited = _edited(document, project=title, i1={"title": "a: b; c # d %% e <f> & {g}"},
                     i2={"wave_name": "A wave whose name is far longer than the margin can hold"})
    drawn = mermaid_cli.picture(mermaid_cli.render(mermaid_cli.block("\n".join(timeline.render(edited, per_step=False)) + "\n"),
                                                   tmp_path / "t.svg"))
    assert drawn.title == f"{title} run (seconds from its start)"
    assert drawn.bars[0].label == "#1 a: b; c # d %% e <f> & {g}"
    assert "Wave 1 A wave whose name is far longer…" in drawn.sections
