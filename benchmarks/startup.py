"""Start-up: a plan of one `true` step against one plain test, both under the same `-n`, alternately.

Each round runs `pytest --waves startup.yaml -n N` and `pytest test_one.py -n N` (pytest's own
start-up with that many xdist workers); printed: the walls, and the ratio of their sums. What the
ratio measures is the fixed cost of pytest-waves: its imports, the plan, its workers' start.

Three more runs a round are bare pytest with a conftest that does something on the controller only,
before it starts its workers (its workers bare):
- "the controller's part": imports the engine and loads the same plan; the floor for workers that
  would load nothing of pytest-waves;
- "the chosen packages alone": imports PyYAML and pydantic and validates a one-field model from
  YAML, the least that a run whose plan is a pydantic model does; the floor for any pytest-waves;
- "a conftest that does nothing": the control, that a conftest costs nothing of the above.

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
    arms: dict[str, list[float]] = {name: [] for name in CONFTESTS}
    with tempfile.TemporaryDirectory(prefix="waves-startup-") as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q", str(root)], check=True)  # a plan runs in a repository
        write_plan({1: ([], [0.0])}, root / "startup.yaml")
        (root / "bare").mkdir()
        (root / "bare" / "test_one.py").write_text("def test_one():\n    pass\n")
        for n, (name, conftest) in enumerate(CONFTESTS.items()):
            (root / f"arm{n}").mkdir()
            (root / f"arm{n}" / "test_one.py").write_text("def test_one():\n    pass\n")
            (root / f"arm{n}" / "conftest.py").write_text(conftest.format(plan=str(root / "startup.yaml")))
        for _ in range(args.rounds):
            ours.append(timed([*PYTEST, "--waves", "startup.yaml", "-n", str(args.n)], root, env))
            shutil.rmtree(root / ".waves", ignore_errors=True)
            bare.append(timed([*PYTEST, "test_one.py", "-n", str(args.n)], root / "bare", env))
            for n, walls in enumerate(arms.values()):
                walls.append(timed([*PYTEST, "test_one.py", "-n", str(args.n)], root / f"arm{n}", env))
    print(f"-n {args.n}, {args.rounds} rounds: one-step plan {min(ours):.2f}-{max(ours):.2f}s, "
          f"bare pytest {min(bare):.2f}-{max(bare):.2f}s; ratio of summed walls {sum(ours) / sum(bare):.2f}, "
          f"of medians {statistics.median(ours) / statistics.median(bare):.2f} "
          f"(machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]})")
    for name, walls in arms.items():
        print(f"{name}, bare workers: {min(walls):.2f}-{max(walls):.2f}s, "
              f"ratio of summed walls {sum(walls) / sum(bare):.2f}, "
              f"of medians {statistics.median(walls) / statistics.median(bare):.2f}")


# Each is loaded by the controller and by each worker, as a conftest is; only the controller does the work.
CONFTESTS = {
    "the controller's part (the controller loading the plan)": """
import os
from pathlib import Path

if "PYTEST_XDIST_WORKER" not in os.environ:
    import pytest_waves.parallel.controller
    import pytest_waves.session.hooks
    import pytest_waves.session.preflight
    from pytest_waves.plan.loader import load_plan
    from pytest_waves.steps import registry

    load_plan(Path({plan!r}), registry(), None)
""",
    "the chosen packages alone (the controller validating a one-field pydantic model from YAML)": """
import os

if "PYTEST_XDIST_WORKER" not in os.environ:
    import yaml
    from pydantic import BaseModel

    class Plan(BaseModel):
        project: str

    Plan.model_validate(yaml.safe_load("project: bench"))
""",
    "a conftest that does nothing (the control)": """
import os

if "PYTEST_XDIST_WORKER" not in os.environ:
    pass
""",
}


if __name__ == "__main__":
    main()
