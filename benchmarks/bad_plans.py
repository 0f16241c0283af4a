"""Every malformed plan of the test corpus, each run as a real `pytest --waves` in a fresh process:
prints how many gave exactly one clear error (exit 4, one `ERROR:` line naming file and line, no
traceback) and how long the slowest took, start-up included.

    python benchmarks/bad_plans.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_plan_errors import CASES, VALID  # noqa: E402  (the corpus lives with its tests)

PYTEST = [sys.executable, "-m", "pytest", "-p", "xdist", "-p", "pytest_dependency", "-p", "pytest_waves.plugin",
          "-p", "no:cacheprovider", "--waves", "plan.yaml"]


def extra_cases() -> list[tuple[str, bytes]]:
    return [("non-utf8", b"project: demo\nwaves:\n  - id: \xff\n"),
            ("ten-megabytes", (VALID + "# " + "x" * (10 * 1024 * 1024) + "\n").encode())]


def run_case(root: Path, content: bytes) -> tuple[bool, float, str]:
    (root / "plan.yaml").write_bytes(content)
    start = time.perf_counter()
    done = subprocess.run(PYTEST, cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    elapsed = time.perf_counter() - start
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
    clear = (done.returncode == 4 and len(errors) == 1 and "invalid wave plan: plan.yaml" in errors[0]
             and "Traceback" not in done.stdout + done.stderr)
    return clear, elapsed, errors[0] if errors else (done.stdout + done.stderr)[-300:]


def main() -> None:
    cases = [(name, text.encode()) for name, text, _ in CASES] + extra_cases()
    results = []
    with tempfile.TemporaryDirectory(prefix="waves-bad-") as tmp:
        (Path(tmp) / "repo").mkdir()
        for name, content in cases:
            results.append((name, *run_case(Path(tmp), content)))
    times = [elapsed for _, _, elapsed, _ in results]
    unclear = [(name, shown) for name, clear, _, shown in results if not clear]
    slowest = max(results, key=lambda row: row[2])
    print(f"malformed plans tried: {len(results)}; one clear error each: {len(results) - len(unclear)}")
    print(f"wall per plan (fresh pytest process, start-up included): median {statistics.median(times):.2f}s, "
          f"slowest {slowest[2]:.2f}s ({slowest[0]})")
    for name, shown in unclear:
        print(f"NOT CLEAR: {name}: {shown}")
    sys.exit(1 if unclear else 0)


if __name__ == "__main__":
    main()
