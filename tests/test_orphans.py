"""No process outlives a killed run: whether pytest dies by SIGKILL, SIGTERM or SIGINT, and whether an
xdist worker or the controller is killed, a running step's shell and its grandchild are gone soon
after (the watcher of reaper.py; "within a second" is its design, the tests allow a generous deadline)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GitWorld, issue, plan_text

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# The step's shell starts a grandchild in the background, writes both pids, then waits itself.
STEP = ('[{run: {cmd: "sleep 300 & echo $! > %(dir)s/grandchild.pid; echo $$ > %(dir)s/shell.pid; '
        'echo $PPID > %(dir)s/runner.pid; wait"}}]')


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits to be collected


def wait_for(path: Path, run: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline and run.poll() is None, run.communicate()[0].decode()
        time.sleep(0.05)
    return int(path.read_text())


def all_gone(pids: list[int], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start(pytester: pytest.Pytester, world: GitWorld, *args: str) -> subprocess.Popen[bytes]:
    steps = STEP % {"dir": pytester.path}
    pytester.path.joinpath("plan.yaml").write_text(plan_text(world, issue(steps, worktree=False)))
    return subprocess.Popen([sys.executable, "-m", "pytest", "--waves", "plan.yaml", "-p", "no:cacheprovider", *args],
                            cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["kill-9", "sigterm", "sigint"])
def test_a_killed_run_leaves_no_step_process(pytester: pytest.Pytester, world: GitWorld, sig: signal.Signals,
                                             fault) -> None:
    run = start(pytester, world)
    shell, grandchild = wait_for(pytester.path / "shell.pid", run), wait_for(pytester.path / "grandchild.pid", run)
    os.kill(run.pid, sig)  # pytest alone: its step runs in a group of its own, out of the signal's reach
    run.communicate(timeout=60)
    fault.processes_gone([shell, grandchild], all_gone([shell, grandchild]))


def test_a_crashed_xdist_worker_leaves_no_step_process(pytester: pytest.Pytester, world: GitWorld, fault) -> None:
    run = start(pytester, world, "-n", "2")
    shell, grandchild = wait_for(pytester.path / "shell.pid", run), wait_for(pytester.path / "grandchild.pid", run)
    worker = wait_for(pytester.path / "runner.pid", run)
    assert worker != run.pid
    os.kill(worker, signal.SIGKILL)
    fault.processes_gone([shell, grandchild], all_gone([shell, grandchild]))
    output = run.communicate(timeout=120)[0].decode()
    assert "worker 'gw" in output or "crashed" in output, output


def test_a_killed_xdist_controller_leaves_no_step_process(pytester: pytest.Pytester, world: GitWorld,
                                                          fault) -> None:
    run = start(pytester, world, "-n", "2")
    shell, grandchild = wait_for(pytester.path / "shell.pid", run), wait_for(pytester.path / "grandchild.pid", run)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate(timeout=60)
    fault.processes_gone([shell, grandchild], all_gone([shell, grandchild]))


def test_a_group_the_watcher_was_told_is_gone_is_left_alone(tmp_path: Path) -> None:
    """`forget` works: after it the watcher never signals that group id (which the system may reuse)."""
    script = tmp_path / "owner.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "from pytest_waves.engine.reaper import REAPER\n"
        "kept = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "watched = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "REAPER.watch(kept.pid); REAPER.forget(kept.pid); REAPER.watch(watched.pid)\n"
        "print(kept.pid, watched.pid, flush=True)\n"
        "time.sleep(300)\n")
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    assert owner.stdout is not None
    kept, watched = map(int, owner.stdout.readline().split())
    try:
        owner.kill()
        owner.wait()
        assert all_gone([watched]), "the watched group outlived its owner"
        assert alive(kept)
    finally:
        os.kill(kept, signal.SIGKILL)


def children(pid: int) -> list[tuple[int, str]]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append((int(stat.parent.name), (stat.parent / "cmdline").read_bytes().decode(errors="replace")))
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_a_killed_watcher_is_replaced_and_told_every_running_group(pytester: pytest.Pytester, world: GitWorld,
                                                                   fault) -> None:
    run = start(pytester, world)
    shell, grandchild = wait_for(pytester.path / "shell.pid", run), wait_for(pytester.path / "grandchild.pid", run)
    (watcher,) = [pid for pid, cmdline in children(run.pid) if "\0-S\0" in cmdline]
    os.kill(watcher, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not [pid for pid, cmdline in children(run.pid) if "\0-S\0" in cmdline and pid != watcher]:
        assert time.monotonic() < deadline, "no new watcher"
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate(timeout=60)
    fault.processes_gone([shell, grandchild], all_gone([shell, grandchild]))
