"""Run a command the way a checklist means it: its own process group, a timeout that kills the
whole group, and output spooled to disk so a step printing gigabytes cannot exhaust memory."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .masking import mask

KILL_GRACE_SECONDS = 2.0
TAIL_LINES = 30


@dataclass
class CommandResult:
    argv: list[str]
    exit_code: int | None  # None when killed for the timeout
    timed_out: bool
    duration: float
    log: Path  # full output (stdout and stderr interleaved)

    def lines(self) -> Iterator[str]:
        with self.log.open("rb") as handle:
            for raw in handle:
                yield raw.decode("utf-8", errors="replace").rstrip("\r\n")

    def tail(self, count: int = TAIL_LINES) -> list[str]:
        return list(deque(self.lines(), maxlen=count))

    def matching(self, pattern: str) -> list[str]:
        regex = re.compile(pattern)
        return [line for line in self.lines() if regex.search(line)]


def to_argv(cmd: str | Sequence[str]) -> list[str]:
    """A string runs through the shell (pipes, &&); a list runs as is, no shell involved."""
    if isinstance(cmd, str):
        return ["/bin/sh", "-c", cmd] if os.name != "nt" else ["cmd", "/c", cmd]
    return [sys.executable if part == "{python}" else part for part in cmd]


def run_command(cmd: str | Sequence[str], cwd: Path, env: Mapping[str, str] | None,
                timeout: float, log: Path, *, inherit: bool = True) -> CommandResult:
    """Run it; `env` adds to this process's environment, or is the whole of it when not `inherit`."""
    if isinstance(cmd, str):
        cmd = cmd.replace("{python}", shlex.quote(sys.executable))
    argv = to_argv(cmd)
    full_env = {**(os.environ if inherit else {}), **(env or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
        finally:
            if process.poll() is None:  # interrupted (Ctrl-C): leave no orphan behind
                _kill_group(process)
            mask_file(log)
    return CommandResult(argv=argv, exit_code=None if timed_out else process.returncode,
                         timed_out=timed_out, duration=time.monotonic() - started, log=log)


def mask_file(path: Path) -> None:
    """Rewrite a log with secrets masked, line by line (bounded memory); untouched when it holds none."""
    masked_path = path.with_name(path.name + ".masked")
    changed = False
    with path.open("rb") as source, masked_path.open("wb") as target:
        for raw in source:
            text = raw.decode("utf-8", errors="surrogateescape")
            masked = mask(text)
            changed |= masked != text
            target.write(masked.encode("utf-8", errors="surrogateescape"))
    if changed:
        os.replace(masked_path, path)
    else:
        masked_path.unlink()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """TERM the whole group, then KILL what is left: grandchildren die with the command."""
    for sig, grace in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=grace)
            if sig == signal.SIGKILL or _group_gone(process.pid):
                return
        except subprocess.TimeoutExpired:
            continue


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False

