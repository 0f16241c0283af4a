"""Command output: pytest-waves' masked, line-streamed log vs the shell writing straight to a file.

Prints, side by side in one run, the wall time of each for the same command (100 MB of output by
default, in 100-character lines), their ratio, and the peak memory of this process while it copied
the output (it must stay flat: output is never held in memory).

    python benchmarks/output_throughput.py [--megabytes 100] [--line 100]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from pytest_waves.engine.commands import run_command


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--line", type=int, default=100, help="characters per line")
    args = parser.parse_args()
    size = args.megabytes * 1_000_000
    command = f"head -c {size} /dev/zero | tr '\\0' 'x' | fold -w {args.line}"
    with tempfile.TemporaryDirectory() as folder:
        ours, direct = Path(folder, "ours.log"), Path(folder, "direct.log")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        run_command(command, Path(folder), None, 3600, ours)
        waves = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        subprocess.run(["/bin/sh", "-c", f"{command} > {direct}"], check=True)
        shell = time.perf_counter() - started
        same = ours.stat().st_size == direct.stat().st_size
    print(f"{args.megabytes} MB in {args.line}-character lines: pytest-waves {waves:.2f}s, shell to file {shell:.2f}s, "
          f"ratio {waves / shell:.2f}; same size: {same}; peak memory grew {(rss_after - rss_before) / 1024:.1f} MB")


if __name__ == "__main__":
    main()
