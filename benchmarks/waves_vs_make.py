"""Parallel waves against the floor (the critical path) and the peer (GNU `make -j`), side by side.

For each shape a plan is written whose steps are `sleep`s, and a Makefile with the same sleeps on the
same graph. Both run with `-n`/`-j` = the shape's width (its largest topological level). Printed:
wall time, critical path (the longest chain of step times), wall / critical path, the fixed start-up
of pytest with that many workers (a one-step plan, measured in the same run), and wall / make.

    python benchmarks/waves_vs_make.py            # about four minutes
    python benchmarks/waves_vs_make.py --scale 0.25

Only pytest, xdist, pytest-dependency and pytest-waves are loaded (PYTEST_DISABLE_PLUGIN_AUTOLOAD), so
other plugins installed on the machine do not inflate the start-up.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

Shape = dict[int, tuple[list[int], list[float]]]  # issue → (dependencies, step seconds)

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "xdist", "-p", "pytest_dependency",
          "-p", "pytest_waves.plugin", "-p", "no:cacheprovider"]


def shapes(scale: float) -> dict[str, Shape]:
    rng = random.Random(2026)
    fan: Shape = {1: ([], [2, 2])}
    fan.update({n: ([1], [rng.choice([2, 3, 4]) for _ in range(3)]) for n in range(2, 10)})
    fan[10] = (list(range(2, 10)), [2, 2])
    found: dict[str, Shape] = {
        "chain (5 issues)": {n: ([n - 1] if n > 1 else [], [1.0] * 4) for n in range(1, 6)},
        "diamond (A,B → C)": {1: ([], [2.0] * 4), 2: ([], [2.5] * 4), 3: ([1, 2], [2.5] * 4)},
        "fan-out 8 + join": fan,
        "LuminaGuard (#152 ∥ #154 → #155)": {152: ([], [4, 4, 4]), 154: ([], [2, 2, 3, 3]),
                                             155: ([154], [2, 3, 3, 2])},
        "random DAG (200 issues)": random_dag(rng, layers=25, width=8),
        # many short steps: where a step's fixed cost shows
        "many short (60 issues x 5 x 50 ms)": {n: ([n - 4] if n > 4 else [], [0.05] * 5) for n in range(1, 61)},
    }
    return {name: {n: (deps, [s * scale for s in steps]) for n, (deps, steps) in shape.items()}
            for name, shape in found.items()}


def random_dag(rng: random.Random, layers: int, width: int) -> Shape:
    shape: Shape = {}
    levels: list[list[int]] = []
    for level in range(layers):
        members = list(range(level * width + 1, (level + 1) * width + 1))
        for n in members:
            deps: list[int] = []
            if levels:
                deps = rng.sample(levels[-1], k=rng.randint(1, 2))
                if len(levels) > 1 and rng.random() < 0.5:
                    deps.append(rng.choice(levels[-2]))
            shape[n] = (deps, [rng.choice([0.2, 0.3, 0.4, 0.5]) for _ in range(rng.randint(1, 3))])
        levels.append(members)
    return shape


def critical_path(shape: Shape) -> float:
    finish: dict[int, float] = {}
    for n in sorted(shape):  # dependencies have smaller numbers in every shape here
        deps, steps = shape[n]
        finish[n] = sum(steps) + max((finish[d] for d in deps), default=0.0)
    return max(finish.values())


def width(shape: Shape) -> int:
    level: dict[int, int] = {}
    for n in sorted(shape):
        level[n] = 1 + max((level[d] for d in shape[n][0]), default=0)
    return max(list(level.values()).count(v) for v in set(level.values()))


def write_plan(shape: Shape, path: Path) -> None:
    lines = ["project: bench", "repository: {path: .}", "waves:", "  - id: 1", "    name: All", "    issues:"]
    for n, (deps, steps) in shape.items():
        lines += [f"      - number: {n}", f"        title: Issue {n}", f"        branch: b{n}",
                  f"        depends_on: {deps}", "        steps:"]
        lines += [f"          - {{name: s{k}, run: [sleep, '{s:.3f}']}}" for k, s in enumerate(steps)]
    path.write_text("\n".join(lines) + "\n")


def write_makefile(shape: Shape, path: Path) -> None:
    last = {n: f"i{n}s{len(steps) - 1}" for n, (_, steps) in shape.items()}
    rules = [f".PHONY: all {' '.join(f'i{n}s{k}' for n, (_, s) in shape.items() for k in range(len(s)))}",
             f"all: {' '.join(last.values())}"]
    for n, (deps, steps) in shape.items():
        for k, seconds in enumerate(steps):
            before = f"i{n}s{k - 1}" if k else " ".join(last[d] for d in deps)
            rules.append(f"i{n}s{k}: {before}\n\t@sleep {seconds:.3f}")
    path.write_text("\n".join(rules) + "\n")


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every step time (default 1)")
    parser.add_argument("--only", help="run only the shapes whose name contains this")
    args = parser.parse_args()
    if shutil.which("make") is None:
        sys.exit("GNU make is needed for the comparison")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps its bytecode: measure that start-up
    rows = []
    with tempfile.TemporaryDirectory(prefix="waves-bench-") as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q", str(root)], check=True)  # a plan runs in a repository
        write_plan({1: ([], [0.0])}, root / "startup.yaml")
        (root / "bare").mkdir()  # one plain test, apart from the plan: pytest's own start-up with xdist
        (root / "bare" / "test_one.py").write_text("def test_one():\n    pass\n")
        for name, shape in shapes(args.scale).items():
            if args.only and args.only not in name:
                continue
            n = width(shape)
            write_plan(shape, root / "plan.yaml")
            write_makefile(shape, root / "Makefile")
            startup = timed([*PYTEST, "--waves", "startup.yaml", "-n", str(n)], root, env)
            bare = timed([*PYTEST, "test_one.py", "-n", str(n)], root / "bare", env)
            wall = timed([*PYTEST, "--waves", "plan.yaml", "-n", str(n)], root, env)
            make = timed(["make", "-s", "-j", str(n), "all"], root, env)
            floor = critical_path(shape)
            steps = sum(len(s) for _, s in shape.values())
            rows.append((name, n, steps, wall, floor, startup, bare, make))
            shutil.rmtree(root / ".waves", ignore_errors=True)
    print(f"{'shape':34} {'-n':>3} {'steps':>5} {'wall':>7} {'crit.path':>9} {'wall/cp':>7} "
          f"{'start-up':>8} {'/bare':>6} {'target':>7} {'make -j':>7} {'us/make':>7}")
    for name, n, steps, wall, floor, startup, bare, make in rows:
        target = "met" if wall <= 1.10 * floor + 2.0 else f"+{wall - (1.10 * floor + 2.0):.1f}s"
        print(f"{name:34} {n:>3} {steps:>5} {wall:>6.2f}s {floor:>8.2f}s {wall / floor:>7.3f} "
              f"{startup:>7.2f}s {startup / bare:>6.2f} {target:>7} {make:>6.2f}s {wall / make:>7.3f}")
    print("target: wall <= 1.10 x critical path + 2 s of start-up; us/make <= 1.15. "
          f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
