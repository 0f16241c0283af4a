"""Start-up: a plan of one `true` step against one plain test, both under the same `-n`, alternately.

Each round runs `pytest --waves startup.yaml -n N` and `pytest test_one.py -n N` (pytest's own
start-up with that many xdist workers); printed: the walls, and the ratio of their sums. What the
ratio measures is the fixed cost of pytest-waves: its imports, the plan, its workers' start.

A third run a round is bare pytest whose controller (only) imports the engine and loads the same
plan before it starts its workers: the controller's part of that cost, the floor for workers that
would load nothing of pytest-waves.

    python benchmarks/startup.py -n 8 --rounds 8
    PYTHONPATH=/path/to/other/checkout python benchmarks/startup.py -n 8   # another version, same way

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

# the same plan writer and timing as the make comparison; a script's own folder is on sys.path
from waves_vs_make import PYTEST, timed, write_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=8, help="xdist workers (default 8)")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps its bytecode
    ours: list[float] = []
    bare: list[float] = []
    part: list[float] = []
    with tempfile.TemporaryDirectory(prefix="waves-startup-") as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q", str(root)], check=True)  # a plan runs in a repository
        write_plan({1: ([], [0.0])}, root / "startup.yaml")
        (root / "bare").mkdir()
        (root / "bare" / "test_one.py").write_text("def test_one():\n    pass\n")
        (root / "part").mkdir()
        (root / "part" / "test_one.py").write_text("def test_one():\n    pass\n")
        (root / "part" / "conftest.py").write_text(CONTROLLER_PART.format(plan=str(root / "startup.yaml")))
        for _ in range(args.rounds):
            ours.append(timed([*PYTEST, "--waves", "startup.yaml", "-n", str(args.n)], root, env))
            shutil.rmtree(root / ".waves", ignore_errors=True)
            bare.append(timed([*PYTEST, "test_one.py", "-n", str(args.n)], root / "bare", env))
            part.append(timed([*PYTEST, "test_one.py", "-n", str(args.n)], root / "part", env))
    print(f"-n {args.n}, {args.rounds} rounds: one-step plan {min(ours):.2f}-{max(ours):.2f}s, "
          f"bare pytest {min(bare):.2f}-{max(bare):.2f}s; ratio of summed walls {sum(ours) / sum(bare):.2f}, "
          f"of medians {statistics.median(ours) / statistics.median(bare):.2f} "
          f"(machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
    print(f"the controller's part (bare workers, the controller loading the plan): {min(part):.2f}-{max(part):.2f}s, "
          f"ratio of summed walls {sum(part) / sum(bare):.2f}")


# Loaded by the controller and by each worker, as a conftest is; only the controller does the work.
CONTROLLER_PART = """
import os
from pathlib import Path

if "PYTEST_XDIST_WORKER" not in os.environ:
    import pytest_waves.parallel.controller
    import pytest_waves.session.hooks
    import pytest_waves.session.preflight
    from pytest_waves.plan.loader import load_plan
    from pytest_waves.steps import registry

    load_plan(Path({plan!r}), registry(), None)
"""


if __name__ == "__main__":
    main()
