"""Where a run's results go beyond the terminal: the report files and the tracking-issue comment.

Everything leaves through `mask`: a token that reached a step's output never reaches a file or a forge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest_waves.reporting.markdown as markdown_report
import pytest_waves.reporting.rows as rows
from pytest_waves.engine.forge import Forge, ForgeError
from pytest_waves.engine.masking import mask
from pytest_waves.plan.loader import LoadedPlan
from pytest_waves.reporting.rows import Report


def comment_marker(loaded: LoadedPlan) -> str:
    """Hidden in the comment, so later runs edit this plan's comment instead of adding one."""
    return f"<!-- pytest-waves plan={loaded.key} project={loaded.plan.project.replace(' ', '_')} -->"


@dataclass(frozen=True)
class Published:
    plan: LoadedPlan
    lines: list[str]  # what to tell the terminal
    failed: bool = False


def publish(report: Report, *, markdown: Path | None = None, as_json: Path | None = None,
            step_summary: Path | None = None, comment_on: int | None = None, forge: Forge | None = None,
            per_step: bool = False) -> Published:
    """The one way out for a run's results, from the plugin and from `python -m pytest_waves report`."""
    loaded = report.loaded
    text = mask(markdown_report.render(report, per_step=per_step))
    if markdown is not None:
        rows.write(markdown, text)
    if step_summary is not None:  # GitHub Actions shows this file on the job's page
        with step_summary.open("a", encoding="utf-8") as summary:
            summary.write(text + "\n")
    if as_json is not None:
        rows.write(as_json, mask(report.as_json()))
    if comment_on is None or forge is None:
        return Published(loaded, [])
    try:
        body = mask(markdown_report.render(report, for_comment=True))
        url, what = forge.upsert_comment(comment_on, comment_marker(loaded), f"{comment_marker(loaded)}\n{body}")
    except ForgeError as exc:
        return Published(loaded, [mask(f"could not comment on #{comment_on}: {exc.summary}"),
                                  *(mask(f"  {detail}") for detail in exc.details)], failed=True)
    retried = "".join(f"; {hiccup}" for hiccup in forge.hiccups())
    return Published(loaded, [f"success metrics {what} on #{comment_on}: {url}{retried}"])
