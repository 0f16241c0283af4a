"""What one step costs pytest-waves beyond its command, against what one rule costs `make`.

A plan of 400 steps of `true` (40 issues × 10, in one process, `-n 0`) and a plan of one such step
run alternately; so do Makefiles of 400 rules and of one. The cost of a step is the difference of
the two walls divided by 399: start-up cancels out, what is left is the item protocol, the gate,
the command's process, its log and the report. Printed: the best and the median of the rounds.

    python benchmarks/per_step.py            # about a minute
    python benchmarks/per_step.py --rounds 9

Only pytest, xdist, pytest-dependency and pytest-waves are loaded (PYTEST_DISABLE_PLUGIN_AUTOLOAD).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# the same timing as the make comparison; a script's own folder is on sys.path
from waves_vs_make import timed

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "xdist", "-p", "pytest_dependency",
          "-p", "pytest_waves.plugin", "-p", "no:cacheprovider", "-n", "0"]
ISSUES, STEPS = 40, 10


def write_plan(path: Path, issues: int, steps: int) -> None:
    lines = ["project: bench", "repository: {path: .}", "waves:", "  - id: 1", "    name: All", "    issues:"]
    for n in range(1, issues + 1):
        lines += [f"      - number: {n}", f"        title: Issue {n}", f"        branch: b{n}", "        steps:"]
        lines += [f"          - {{name: s{k}, run: 'true'}}" for k in range(steps)]
    path.write_text("\n".join(lines) + "\n")


def write_makefile(path: Path, rules: int) -> None:
    names = [f"r{k}" for k in range(rules)]
    path.write_text(f".PHONY: all {' '.join(names)}\nall: {' '.join(names)}\n"
                    + "".join(f"{name}:\n\t@true\n" for name in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("make") is None:
        sys.exit("GNU make is needed for the comparison")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps its bytecode
    ours: list[float] = []
    make: list[float] = []
    with tempfile.TemporaryDirectory(prefix="waves-per-step-") as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q", str(root)], check=True)  # a plan runs in a repository
        write_plan(root / "many.yaml", ISSUES, STEPS)
        write_plan(root / "one.yaml", 1, 1)
        write_makefile(root / "many.mk", ISSUES * STEPS)
        write_makefile(root / "one.mk", 1)
        extra = ISSUES * STEPS - 1
        for _ in range(args.rounds):
            many = timed([*PYTEST, "--waves", "many.yaml"], root, env)
            one = timed([*PYTEST, "--waves", "one.yaml"], root, env)
            ours.append((many - one) / extra)
            many = timed(["make", "-s", "-f", "many.mk"], root, env)
            one = timed(["make", "-s", "-f", "one.mk"], root, env)
            make.append((many - one) / extra)
            shutil.rmtree(root / ".waves", ignore_errors=True)
    print(f"{'one step of `true`, in one process':38} {'best':>8} {'median':>8}")
    print(f"{'pytest-waves':38} {min(ours) * 1000:>6.2f}ms {statistics.median(ours) * 1000:>6.2f}ms")
    print(f"{'make (one rule)':38} {min(make) * 1000:>6.2f}ms {statistics.median(make) * 1000:>6.2f}ms")
    print(f"ratio of medians: {statistics.median(ours) / statistics.median(make):.2f}; "
          f"{args.rounds} rounds of {ISSUES * STEPS} steps; machine: {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
