"""Start-up: a plan of one `true` step against one plain test, both under the same `-n`, alternately.

Each round runs `pytest --waves startup.yaml -n N` and `pytest test_one.py -n N` (pytest's own
start-up with that many xdist workers); printed: the walls, and the ratio of their sums. What the
ratio measures is the fixed cost of pytest-waves: its imports, the plan, its workers' start.

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
    with tempfile.TemporaryDirectory(prefix="waves-startup-") as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q", str(root)], check=True)  # a plan runs in a repository
        write_plan({1: ([], [0.0])}, root / "startup.yaml")
        (root / "bare").mkdir()
        (root / "bare" / "test_one.py").write_text("def test_one():\n    pass\n")
        for _ in range(args.rounds):
            ours.append(timed([*PYTEST, "--waves", "startup.yaml", "-n", str(args.n)], root, env))
            shutil.rmtree(root / ".waves", ignore_errors=True)
            bare.append(timed([*PYTEST, "test_one.py", "-n", str(args.n)], root / "bare", env))
    print(f"-n {args.n}, {args.rounds} rounds: one-step plan {min(ours):.2f}-{max(ours):.2f}s, "
          f"bare pytest {min(bare):.2f}-{max(bare):.2f}s; ratio of summed walls {sum(ours) / sum(bare):.2f}, "
          f"of medians {statistics.median(ours) / statistics.median(bare):.2f} "
          f"(machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
