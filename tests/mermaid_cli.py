"""The real Mermaid renderer (npm @mermaid-js/mermaid-cli, `mmdc`, in Debian's Chromium) and what its
picture shows: the check that a report's timeline renders, and reads as intended.

`.ci/run` installs both and sets MERMAID_CLI. By hand:

    apt-get install chromium
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix ~/.cache/mmdc @mermaid-js/mermaid-cli@11
    MERMAID_CLI=~/.cache/mmdc/node_modules/.bin/mmdc python tests/mermaid_cli.py report.md [picture.png]

prints the picture's description (title, ticks, sections, and each bar: how it is drawn and its label).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = os.environ.get("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium")
# As the machine's own notes advise: no first-run work and no background connections, which this
# network refuses, and no sandbox (CI runs as root).
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def mmdc() -> str | None:
    found = os.environ.get("MERMAID_CLI") or shutil.which("mmdc")
    return found if found and Path(found).exists() and Path(CHROMIUM).exists() else None


@dataclass(frozen=True)
class Bar:
    drawn: str  # Mermaid's task classes: done, crit, active, milestone, "milestone crit"…; plain: none
    label: str
    x: float
    width: float
    row: float  # y: the bars in the order they are drawn from the top


@dataclass(frozen=True)
class Picture:
    title: str
    ticks: list[str]
    sections: list[str]
    bars: list[Bar]

    def describe(self) -> str:
        lines = [f"title: {self.title}", f"ticks: {' | '.join(self.ticks)}", f"sections: {' | '.join(self.sections)}"]
        lines += [f"  {bar.drawn:<9} x={bar.x:>6.1f} w={bar.width:>6.1f}  {bar.label}" for bar in self.bars]
        return "\n".join(lines)


def block(markdown: str) -> str:
    """The report's Mermaid block, without its fences."""
    found = re.search(r"^```mermaid\n(.*?)^```$", markdown, re.M | re.S)
    if not found:
        raise ValueError("no ```mermaid block")
    return found[1]


def render(diagram: str, out: Path, *, width: int = 1200) -> Path:
    """Render with the real mmdc; raises CalledProcessError (with mmdc's message) when it fails.
    Ticks are formatted in local time: TZ=UTC keeps what the picture says the same everywhere."""
    tool = mmdc()
    if tool is None:
        raise FileNotFoundError("mmdc or chromium is not installed (see tests/mermaid_cli.py)")
    with tempfile.TemporaryDirectory() as scratch:
        source, config = Path(scratch, "in.mmd"), Path(scratch, "puppeteer.json")
        source.write_text(diagram)
        config.write_text(json.dumps({"executablePath": CHROMIUM, "args": CHROMIUM_ARGS}))
        subprocess.run([tool, "-q", "-p", str(config), "-i", str(source), "-o", str(out), "-w", str(width)],
                       check=True, capture_output=True, text=True, timeout=120, env={**os.environ, "TZ": "UTC"})
    return out


def picture(svg: Path) -> Picture:
    root = ET.parse(svg).getroot()

    def text(node: ET.Element) -> str:
        return " ".join("".join(node.itertext()).split())

    def classes(node: ET.Element) -> list[str]:
        return (node.get("class") or "").split()

    title = next((text(t) for t in root.iter(f"{SVG}text") if "titleText" in classes(t)), "")
    ticks = [text(t) for g in root.iter(f"{SVG}g") if "tick" in classes(g) for t in g.iter(f"{SVG}text")]
    sections = [text(t) for t in root.iter(f"{SVG}text") if "sectionTitle" in classes(t)]
    labels = {t.get("id", "").removesuffix("-text"): text(t) for t in root.iter(f"{SVG}text") if t.get("id")}
    bars = []
    for rect in root.iter(f"{SVG}rect"):
        if "task" not in classes(rect):
            continue
        drawn = " ".join(re.sub(r"\d+$", "", c) for c in classes(rect)[1:] if not c.startswith("task")) or "plain"
        bars.append(Bar(drawn, labels.get(rect.get("id", ""), ""), float(rect.get("x", 0)),
                        float(rect.get("width", 0)), float(rect.get("y", 0))))
    return Picture(title, ticks, sections, sorted(bars, key=lambda bar: bar.row))


if __name__ == "__main__":
    report = Path(sys.argv[1])
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else report.with_suffix(".svg")
    diagram = block(report.read_text())
    if target.suffix != ".svg":
        render(diagram, target)
        target = target.with_suffix(".svg")
    print(picture(render(diagram, target)).describe())
