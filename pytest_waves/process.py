"""Run a command the way a checklist means it: its own process group, a timeout that kills the
whole group, and output streamed to disk line by line (masked on the way), so a step printing
gigabytes cannot exhaust memory and no secret reaches the log even for a moment."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .masking import mask

KILL_GRACE_SECONDS = 2.0
TAIL_LINES = 30
BATCH_CHARS = 1 << 16
FLUSH_SECONDS = 0.5
MAX_LINE_BYTES = 1 << 20


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
                timeout: float, log: Path, *, inherit: bool = True,
                on_line: Callable[[str], None] | None = None) -> CommandResult:
    """Run it; `env` adds to this process's environment, or is the whole of it when not `inherit`.

    Output is read line by line as it comes: masked, written to `log` (never held in memory), and
    passed to `on_line` (the terminal's live view with -v)."""
    if isinstance(cmd, str):
        cmd = cmd.replace("{python}", shlex.quote(sys.executable))
    argv = to_argv(cmd)
    full_env = {**(os.environ if inherit else {}), **(env or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        assert process.stdout is not None
        reader = threading.Thread(target=_copy_lines, args=(process.stdout, out, on_line), daemon=True)
        reader.start()
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
        finally:
            if process.poll() is None:  # interrupted (Ctrl-C): leave no orphan behind
                _kill_group(process)
            # the pipe closes when the group is gone; a process that left the group may hold it open
            reader.join(timeout=KILL_GRACE_SECONDS)
    return CommandResult(argv=argv, exit_code=None if timed_out else process.returncode,
                         timed_out=timed_out, duration=time.monotonic() - started, log=log)


def _copy_lines(source: IO[bytes], log: IO[bytes], on_line: Callable[[str], None] | None) -> None:
    """Pipe → log, masked in batches of whole lines (a secret never spans two lines; one regex pass
    over a batch costs far less than one per line), flushed at least every FLUSH_SECONDS."""
    batch: list[str] = []
    size, flushed = 0, time.monotonic()
    for raw in iter(lambda: source.readline(MAX_LINE_BYTES), b""):  # a line without end is cut, not hoarded
        text = raw.decode("utf-8", errors="surrogateescape")
        batch.append(text)
        size += len(text)
        if on_line is not None:
            try:
                on_line(text.rstrip("\r\n").encode("utf-8", errors="replace").decode("utf-8"))
            except Exception:  # a broken terminal must not stop the output from reaching the log
                on_line = None
        if size >= BATCH_CHARS or time.monotonic() - flushed >= FLUSH_SECONDS:
            _write_masked(log, batch)
            size, flushed = 0, time.monotonic()
    _write_masked(log, batch)
    source.close()


def _write_masked(log: IO[bytes], batch: list[str]) -> None:
    if batch:
        log.write(mask("".join(batch)).encode("utf-8", errors="surrogateescape"))
        log.flush()
        batch.clear()


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

