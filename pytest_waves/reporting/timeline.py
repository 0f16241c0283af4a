"""The Markdown report's Mermaid timeline of the real run (a `gantt` block GitHub renders).

What a reader must see at a glance: when each issue ran, which ones failed and which were deferred
(drawn differently and said in the label), and which were blocked (a marker where their dependency
ended), so that no wave vanishes from the picture. Short runs get relative ticks ("0.2 s", "5 s");
longer ones the reader's clock time, on a round interval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pytest_waves.reporting.rows import Report
from pytest_waves.reporting.schema import IssueResult
from pytest_waves.reporting.status import RAN, Outcome, Status

# Relative times are drawn from this instant on: a whole UTC hour in the year 2000, when every time
# zone's offset was a multiple of 15 minutes, so that seconds and milliseconds read the same
# wherever the picture is rendered (Mermaid formats ticks in the reader's local time).
_ORIGIN_MS = 946_684_800_000
_RELATIVE_BELOW_MS = 60_000

# (tick interval in ms, Mermaid's spelling of it): the first that gives at most _TICKS ticks wins.
_TICKS = 10
_INTERVALS = [(n * unit, f"{n}{name}") for unit, name, counts in (
    (1, "millisecond", (1, 2, 5, 10, 20, 50, 100, 200, 500)),
    (1000, "second", (1, 2, 5, 10, 15, 30)),
    (60_000, "minute", (1, 2, 5, 10, 15, 30)),
    (3_600_000, "hour", (1, 2, 3, 6, 12)),
    (86_400_000, "day", (1, 2, 7, 14)),
    (30 * 86_400_000, "month", (1, 3, 6)),  # counted as 30 days: only to choose one
) for n in counts]

# How each outcome is drawn (Mermaid's task tags) and said (after the bar's name).
_DRAWN = {Outcome.PASSED: ("done", ""), Outcome.FAILED: ("crit", " — failed"),
          Outcome.DEFERRED: ("active", " — deferred"), Outcome.INTERRUPTED: ("", " — interrupted")}
_TIMED = (*RAN, Outcome.INTERRUPTED)  # steps that ran, if only part of the way: they have a bar


@dataclass(frozen=True)
class _Axis:
    title: str
    format: str
    interval: str
    shift: int  # added to every real time, in ms


def render(report: Report, *, per_step: bool) -> list[str]:
    """A Mermaid gantt block: a bar per issue (per step with -v) in its wave's section, and a marker
    for each issue that took part in the run without a timed step (blocked, or failed before its
    first step ran, e.g. with its worker)."""
    spans = {row.issue: _span(row) for row in report.issues}
    took_part = [row for row in report.issues if spans[row.issue] or row.status != Status.NOT_RUN]
    if not took_part:
        return []  # a dry run, or nothing selected
    ran = [span for span in spans.values() if span]
    start, end = (min(s for s, _ in ran), max(e for _, e in ran)) if ran else (0, 0)
    axis = _axis(report.loaded.plan.project, start, end, clock=bool(ran))
    marked_at = _marked_at(report.issues, spans, start)
    sections: list[tuple[str, list[str]]] = []
    for row in took_part:
        span = spans[row.issue]
        if span is None:
            lines = [_marker(row, marked_at[row.issue], axis)]
        elif per_step:
            lines = [_bar(f"#{row.issue} {step.name}", _DRAWN[step.outcome], f"s{row.issue}_{n}",
                          _millis(step.start), _millis(step.end), axis)
                     for n, step in enumerate(row.steps) if step.outcome in _TIMED and step.start and step.end]
        else:
            lines = [_bar(f"#{row.issue} {row.title}", _drawn_as(row), f"i{row.issue}", *span, axis)]
        section = _shortened(f"Wave {row.wave} {row.wave_name}".strip())
        if sections and sections[-1][0] == section:
            sections[-1][1].extend(lines)
        else:
            sections.append((section, lines))
    # Section names are drawn in the left margin, 75 px unless told: room for the longest one.
    margin = max(75, 7 * max(len(section) for section, _ in sections) + 20)
    out = ["", "### Timeline", "", "```mermaid", f'%%{{init: {{"gantt": {{"leftPadding": {margin}}}}}}}%%', "gantt",
           f"    title {_text(axis.title)}", "    dateFormat x",
           f"    axisFormat {axis.format}", f"    tickInterval {axis.interval}", "    todayMarker off"]
    for section, lines in sections:
        out += [f"    section {_text(section)}", *lines]
    return [*out, "```"]


def _millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _span(row: IssueResult) -> tuple[int, int] | None:
    times = [(_millis(s.start), _millis(s.end)) for s in row.steps if s.outcome in _TIMED and s.start and s.end]
    return (min(s for s, _ in times), max(e for _, e in times)) if times else None


def _drawn_as(row: IssueResult) -> tuple[str, str]:
    """(Mermaid's tag, what the label says) for an issue's bar."""
    if row.status == Status.NOT_RUN:  # only part of it was selected
        return "", f" — partly run ({row.steps_passed}/{row.steps_total} steps passed)"
    return _DRAWN[{Status.FAILED: Outcome.FAILED, Status.DEFERRED: Outcome.DEFERRED,
                   Status.INTERRUPTED: Outcome.INTERRUPTED}.get(row.status, Outcome.PASSED)]


def _axis(project: str, start: int, end: int, *, clock: bool) -> _Axis:
    span = end - start
    interval_ms, interval = next(((ms, name) for ms, name in _INTERVALS if span / ms <= _TICKS), _INTERVALS[-1])
    if span < _RELATIVE_BELOW_MS or not clock:
        tick = "%-S.%L s" if interval_ms < 1000 else "%-S s"
        return _Axis(f"{project} run (seconds from its start)", tick, interval, _ORIGIN_MS - start)
    tick = "%H:%M:%S" if interval_ms < 60_000 else "%H:%M" if span < 86_400_000 else "%b %-d %H:%M"
    return _Axis(f"{project} run (times in your time zone)", tick, interval, 0)


def _marked_at(table: list[IssueResult], spans: dict[int, tuple[int, int] | None], start: int) -> dict[int, int]:
    """Where an issue without a timed step stands: where the last of its dependencies ended (or
    was itself marked); the run's start when none of them ran. Plan order puts dependencies first."""
    when: dict[int, int] = {}
    for row in table:
        ends = [span[1] for dep in row.depends_on if (span := spans.get(dep))] + \
               [when[dep] for dep in row.depends_on if dep in when]
        when[row.issue] = max(ends, default=start)
    return when


def _marker(row: IssueResult, at: int, axis: _Axis) -> str:
    """A diamond for an issue that took part without a timed step: blocked (by the issue the gate
    named), or failed, deferred or passed with nothing run (a crashed worker, steps for another OS)."""
    if row.status == Status.BLOCKED:
        blocker = re.search(r"blocked by #(\d+)", row.reason)  # the gate's reason names the first blocker
        said, tag = " — blocked" + (f" by #{blocker[1]}" if blocker else ""), "milestone"
    else:
        tag, said = _drawn_as(row)
        said = (said or " — passed") + (f" ({_shortened(row.reason)})" if row.reason else "")
        tag = f"{tag}, milestone" if tag else "milestone"
    return f"    {_text(f'#{row.issue} {row.title}{said}')} :{tag}, m{row.issue}, {at + axis.shift}, 0ms"


def _bar(name: str, drawn: tuple[str, str], ident: str, start: int, end: int, axis: _Axis) -> str:
    tag, said = drawn
    begin = start + axis.shift
    tags = f"{tag}, " if tag else ""
    return f"    {_text(name + said)} :{tags}{ident}, {begin}, {max(end + axis.shift, begin + 1)}"


def _shortened(text: str, most: int = 40) -> str:
    return text if len(text) <= most else text[:most - 1].rstrip() + "…"


def _text(text: str) -> str:
    """A name on one line, with the characters Mermaid's gantt grammar reads (`:` ends a task's
    name, `;` a statement, `#` starts an entity, `%%` a directive or comment) and those it would take
    for HTML written as entities, which it shows as themselves."""
    one_line = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"[#:;%<>&{}]", lambda m: f"#{ord(m[0])};", one_line)
