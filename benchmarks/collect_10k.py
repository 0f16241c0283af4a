"""Collecting a 10,000-step plan against collecting 10,000 parametrized no-op tests, side by side.

Both run `pytest --co -q` in fresh interpreters, alternately, several rounds; printed are the best and
median wall times, their ratio, and each one's peak memory (ru_maxrss of the pytest process).

    python benchmarks/collect_10k.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ISSUES, STEPS = 1000, 10
RUN = ("import resource, sys, pytest\n"
       "code = pytest.main(sys.argv[1:])\n"
       "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
       "sys.exit(code)\n")
PLUGINS = ["-p", "xdist", "-p", "pytest_dependency", "-p", "pytest_waves.plugin", "-p", "no:cacheprovider"]


def write_plan(path: Path) -> None:
    """1,000 issues of 10 steps in 10 waves; each issue depends on the one before it in its wave."""
    lines = ["project: collect", "repository: {path: .}", "waves:"]
    per_wave = ISSUES // 10
    for w in range(10):
        lines += [f"  - id: {w + 1}", f"    name: Wave {w + 1}", "    issues:"]
        for n in range(w * per_wave + 1, (w + 1) * per_wave + 1):
            deps = [n - 1] if n % per_wave != 1 else []
            lines += [f"      - number: {n}", f"        title: Issue {n}", f"        branch: feature/issue-{n}",
                      f"        depends_on: {deps}", "        steps:"]
            lines += [f"          - {{name: s{k}, run: 'true'}}" for k in range(STEPS)]
    path.write_text("\n".join(lines) + "\n")


def collect(args: list[str], cwd: Path) -> tuple[float, int]:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, "--co", "-q", *PLUGINS, *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or f"{ISSUES * STEPS} tests collected" not in done.stdout:
        sys.exit(f"collection failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    maxrss = int(done.stderr.rsplit("maxrss", 1)[1].split()[0])
    return elapsed, maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="waves-collect-") as tmp:
        root = Path(tmp)
        write_plan(root / "plan.yaml")
        (root / "test_noop.py").write_text("import pytest\n\n\n@pytest.mark.parametrize('i', range(10000))\n"
                                           "def test_noop(i):\n    pass\n")
        ours: list[tuple[float, int]] = []
        theirs: list[tuple[float, int]] = []
        for _ in range(rounds):
            ours.append(collect(["--waves", "plan.yaml"], root))
            theirs.append(collect(["test_noop.py"], root))
    print(f"{'collect --co -q':40} {'best':>7} {'median':>7} {'peak memory':>12}")
    for name, runs in ((f"plan: {ISSUES} issues x {STEPS} steps", ours), ("10,000 parametrized no-op tests", theirs)):
        times = [t for t, _ in runs]
        print(f"{name:40} {min(times):>6.2f}s {statistics.median(times):>6.2f}s "
              f"{max(m for _, m in runs) / 1024:>9.0f} MB")
    ratio = min(t for t, _ in ours) / min(t for t, _ in theirs)
    median = statistics.median(t for t, _ in ours) / statistics.median(t for t, _ in theirs)
    print(f"ratio plan / parametrized: best {ratio:.2f}, median {median:.2f} (target <= 2.0); "
          f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
