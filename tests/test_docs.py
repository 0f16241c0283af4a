"""The README and docs/ say what the product does: every output they show is produced again here.

A shown output is a fenced block right after a marker line:

    <!-- check: COMMAND -->                  the block is what COMMAND prints
    <!-- check exit=4: COMMAND -->           … and COMMAND exits 4 (0 unless said)
    <!-- shown, not checked: WHY -->         e.g. benchmark figures, measured on one machine

Every block that is not code (yaml, bash, python) needs one of them, so that no output can be added
unchecked. COMMAND runs in bash, in a scratch copy of `plans/` (in `…/Projects/pytest-waves/`), with
this environment's `pytest` and `python` first on PATH and no COLUMNS (so 80 columns, as pytest
sees a pipe) unless the command sets it. The block's lines must appear in its output as they are
shown, one after another; a line that is only `⋯` stands for lines left out, and `⋯` within a line
for any text (a time, a run's id). (`…` is not a wildcard: the product prints it where it shortens.)
Links between the pages must lead to a file and a heading that exist.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- (check(?: exit=(?P<exit>\d+))?: (?P<command>.+?)|shown, not checked: .+?) -->$")
CODE = {"yaml", "bash", "sh", "python", "toml"}
GAP = "⋯"
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<lang>\w*)$")


class Shown(NamedTuple):
    page: Path
    line: int  # of the block's first line, 1-based
    lang: str
    command: str | None  # None: marked as not checked; "" : not marked at all
    lines: list[str]
    exit: int = 0


def _blocks(page: Path) -> list[Shown]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found, n = [], 0
    while n < len(lines):
        opening = FENCE.match(lines[n])
        if not opening:
            n += 1
            continue
        end = next(k for k in range(n + 1, len(lines)) if lines[k] == opening["fence"])
        marker = MARKER.match(lines[n - 1]) if n else None
        command = "" if marker is None else marker["command"]
        code = int(marker["exit"]) if marker is not None and marker["exit"] else 0
        found.append(Shown(page, n + 1, opening["lang"], command, lines[n + 1:end], code))
        n = end + 1
    return found


BLOCKS = [block for page in PAGES for block in _blocks(page)]
CHECKED = [block for block in BLOCKS if block.command]


def _where(block: Shown) -> str:
    return f"{block.page.relative_to(ROOT)}:{block.line}"


def test_every_shown_output_is_checked_or_says_why_not() -> None:
    unmarked = [_where(b) for b in BLOCKS if b.lang not in CODE and b.command == ""]
    assert not unmarked, f"blocks that are not code and have no `<!-- check: … -->` marker: {unmarked}"
    assert len(CHECKED) >= 6  # the check itself runs: the pages do show outputs
    empty = [_where(b) for b in CHECKED if not [line for line in b.lines if line.strip() not in ("", GAP)]]
    assert not empty, f"checked blocks that show nothing to check: {empty}"


def _matches(shown: str, line: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in shown.split(GAP))
    return re.fullmatch(pattern, line) is not None


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[0]:
        lines = lines[1:]
    while lines and not lines[-1]:
        lines = lines[:-1]
    return lines


def _missing(shown: list[str], output: list[str]) -> str | None:
    """The first shown line the output does not have where the block says, or None. Lines between
    two `⋯` lines must follow each other in the output; the runs must come in order."""
    runs: list[list[str]] = [[]]
    for line in (s.rstrip() for s in shown):
        if line.strip() == GAP:
            runs.append([])
        else:
            runs[-1].append(line)  # blank lines too: the output must have them where shown
    at = 0
    for run in (_trimmed(r) for r in runs):
        if not run:
            continue
        start = next((k for k in range(at, len(output) - len(run) + 1)
                      if all(_matches(want, output[k + i]) for i, want in enumerate(run))), None)
        if start is None:  # say which line: the first of the run that is nowhere after `at`
            return next((want for want in run if not any(_matches(want, line) for line in output[at:])), run[0])
        at = start + len(run)
    return None


@pytest.mark.parametrize("block", CHECKED, ids=_where)
def test_a_shown_output_is_what_the_command_prints(block: Shown, tmp_path: Path) -> None:
    # as a clone in ~/Projects/pytest-waves, whose LuminaGuard plan points at ~/Projects/luminaguard
    clone = tmp_path / "Projects" / "pytest-waves"
    shutil.copytree(ROOT / "plans", clone / "plans", ignore=shutil.ignore_patterns(".waves"))
    env = {key: value for key, value in os.environ.items()
           if key not in ("COLUMNS", "LINES", "PYTEST_ADDOPTS", "GITHUB_STEP_SUMMARY") and not key.startswith("PYTEST_XDIST")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    assert block.command is not None
    result = subprocess.run(["bash", "-c", block.command], cwd=clone, env=env, capture_output=True, text=True,
                            timeout=300)
    output = [line.rstrip() for line in (result.stdout + result.stderr).splitlines()]
    assert result.returncode == block.exit, f"{_where(block)}: `{block.command}` exited {result.returncode}, " \
        f"not {block.exit}:\n" + "\n".join(output)
    missing = _missing(block.lines, output)
    assert missing is None, (f"{_where(block)}: `{block.command}` does not print\n  {missing}\n"
                             "(in this order after the lines before it); it printed:\n" + "\n".join(output))


PLANS = [block for block in BLOCKS if block.lang == "yaml" and block.lines and block.lines[0].startswith("project:")]


@pytest.mark.parametrize("block", PLANS, ids=_where)
def test_a_plan_shown_is_a_valid_plan(block: Shown, pytester: pytest.Pytester) -> None:
    (pytester.path / "plan.yaml").write_text("\n".join(block.lines) + "\n")
    result = pytester.runpytest("--waves", "plan.yaml", "--co", "-q")
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()


def test_every_option_is_in_the_readme(pytester: pytest.Pytester) -> None:
    """The README's options table names every command-line option and ini key the plugin adds."""
    shown = (ROOT / "README.md").read_text(encoding="utf-8").split("## Options", 1)[1].split("\n## ", 1)[0]
    help_text = pytester.runpytest("--help").stdout.str()
    options = set(re.findall(r"^\s+(--waves[\w-]*)", help_text, re.M))
    ini_keys = set(re.findall(r"^\s+(waves_\w+)", help_text, re.M))
    assert len(options) >= 10 and len(ini_keys) >= 8, help_text
    missing = sorted(name for name in options | ini_keys if not re.search(f"`{re.escape(name)}[` ]", shown))
    assert not missing, f"not in the README's options table: {missing}"


def test_the_check_fails_on_a_line_the_output_does_not_have() -> None:
    output = ["a 1", "b 2 in 0.5s", "c", "d…"]
    assert _missing(["a 1", "b 2 in ⋯s", "c"], output) is None
    assert _missing(["a 1", "⋯", "c"], output) is None
    assert _missing(["b 2 in ⋯s", "a 1"], output) is not None  # order matters
    assert _missing(["a 1", "c"], output) == "a 1"  # a line left out must be shown as ⋯
    assert _missing(["a 2"], output) == "a 2"
    assert _missing(["d…"], output) is None and _missing(["c…"], output) == "c…"  # … is a character


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^(`{3,}).*?^\1$", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {_slug(m[1]) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_between_pages_lead_somewhere(page: Path) -> None:
    text = re.sub(r"^(`{3,}).*?^\1$", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with that anchor in {linked.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"
