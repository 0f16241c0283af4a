"""Where a run's results go beyond the terminal: the report files and the tracking-issue comment.

Everything leaves through `mask`: a token that reached a step's output never reaches a file or a forge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import report
from .forge import Forge, ForgeError
from .loader import LoadedPlan
from .masking import mask
from .outcomes import Outcomes


def comment_marker(loaded: LoadedPlan) -> str:
    """Hidden in the comment, so later runs edit this plan's comment instead of adding one."""
    return f"<!-- pytest-waves plan={loaded.key} project={loaded.plan.project.replace(' ', '_')} -->"


@dataclass(frozen=True)
class Published:
    plan: LoadedPlan
    lines: list[str]  # what to tell the terminal
    failed: bool = False


def publish(loaded: LoadedPlan, outcomes: Outcomes, *, markdown: Path | None, as_json: Path | None,
            comment_on: int | None, forge: Forge) -> Published:
    table = report.rows(loaded, outcomes)
    merges = report.merge_rows(loaded, outcomes)
    text = mask(report.markdown(loaded, table, merges))
    if markdown is not None:
        report.write(markdown, text)
    if as_json is not None:
        report.write(as_json, mask(report.as_json(loaded, table, merges)))
    if comment_on is None:
        return Published(loaded, [])
    try:
        url, what = forge.upsert_comment(comment_on, comment_marker(loaded), f"{comment_marker(loaded)}\n{text}")
    except ForgeError as exc:
        return Published(loaded, [mask(f"could not comment on #{comment_on}: {exc.summary}"),
                                  *(mask(f"  {detail}") for detail in exc.details)], failed=True)
    return Published(loaded, [f"success metrics {what} on #{comment_on}: {url}"])
