"""Run a command the way a checklist means it: its own process group, a timeout that kills the
whole group, and output streamed to disk line by line (masked on the way), so a step printing
gigabytes cannot exhaust memory and no secret reaches the log even for a moment.

A log says what it is a log of: its first lines name the command (masked), where it ran and when it
started; its last line how it ended and how long it took. Readers of the output (`lines`, `tail`)
see the command's output only."""

from __future__ import annotations

import errno
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pytest_waves.engine.masking import mask
from pytest_waves.engine.reaper import REAPER

KILL_GRACE_SECONDS = 2.0
TAIL_LINES = 30
BATCH_CHARS = 1 << 16
FLUSH_SECONDS = 0.5
MAX_LINE_BYTES = 1 << 20
READ_BYTES = 1 << 16
MARK = "## pytest-waves:"  # starts the log's header and footer lines


@dataclass
class CommandResult:
    argv: list[str]
    exit_code: int | None  # None when killed for the timeout
    timed_out: bool
    duration: float
    log: Path  # full output (stdout and stderr interleaved), between a header and a footer line
    header_lines: int = 0

    def lines(self) -> Iterator[str]:
        """The command's output, line by line, without the log's header and footer."""
        with self.log.open("rb") as handle:
            previous: str | None = None
            for number, raw in enumerate(handle):
                if number < self.header_lines:
                    continue
                if previous is not None:
                    yield previous
                previous = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if previous is not None and not previous.startswith(MARK):
                yield previous  # a log cut short (a full disk) has no footer

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


def _require_program(argv: list[str], cwd: Path, env: Mapping[str, str]) -> None:
    """The error Popen would give for a missing program (the shell in front would only exit 127)."""
    program = argv[0]
    found = (cwd / program).is_file() if "/" in program else shutil.which(program, path=env.get("PATH", os.defpath))
    if not found:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)


def _held(argv: list[str]) -> list[str]:
    """The command, behind a shell line that waits (on stdin) until the watcher knows its process
    group (see reaper.py); if pytest dies before that, the command never starts. Then stdin is
    /dev/null. A shell string runs in that same shell; an argv list is exec'd by it."""
    wait = "read -r _ || exit 125; exec </dev/null; "
    if os.name == "nt":  # pragma: no cover - no process groups to watch
        return argv
    if argv[:2] == ["/bin/sh", "-c"] and len(argv) == 3:
        return ["/bin/sh", "-c", wait + argv[2]]
    return ["/bin/sh", "-c", wait + 'exec "$@"', "sh", *argv]


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
    _require_program(argv, cwd, full_env)
    header = _header(cmd, cwd)
    log.write_text("".join(f"{MARK} {line}\n" for line in header), encoding="utf-8")
    hold, go = os.pipe()
    try:
        process = subprocess.Popen(_held(argv), cwd=cwd, env=full_env, stdin=hold,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        REAPER.watch(process.pid)  # should this process die before the step ends, the group dies too
        os.write(go, b"\n")  # only now may the command start: never a moment unwatched
    finally:
        os.close(hold)
        os.close(go)
    assert process.stdout is not None
    timed_out = interrupted = False
    reader: _Reader | None = None
    try:
        reader = _Reader(process.stdout, log, on_line)  # may fail (no descriptor left): then kill, below
        timed_out = not reader.follow(process, started + timeout)
    finally:
        if process.poll() is None:  # timed out, interrupted (Ctrl-C), or never read: leave no orphan behind
            interrupted = not timed_out
            _kill_group(process)
        if reader is not None:
            reader.drain(process)
        else:
            process.stdout.close()
            process.wait()
        REAPER.forget(process.pid)
        duration = time.monotonic() - started
        ended = (f"interrupted after {duration:.1f} s" if interrupted else
                 f"killed by its {timeout:g} s timeout" if timed_out else
                 f"exit {process.returncode} after {duration:.1f} s")
        lead = "\n" if reader is not None and reader.unended else ""  # on a line of its own, also after output without a last newline
        with log.open("ab") as handle:
            handle.write(f"{lead}{MARK} {ended}\n".encode())
    return CommandResult(argv=argv, exit_code=None if timed_out else process.returncode,
                         timed_out=timed_out, duration=duration, log=log, header_lines=len(header))


def _header(cmd: str | Sequence[str], cwd: Path) -> list[str]:
    """What the log is a log of: the command as the plan gave it (masked), where and when."""
    # each part masked before quoting: a quoted secret would no longer look like itself
    shown = mask(cmd) if isinstance(cmd, str) else shlex.join(mask(part) for part in cmd)
    when = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return [f"$ {shown}".replace("\n", "\\n"), f"cwd: {cwd}", f"started: {when}"]


class _Reader:
    """Pipe → log, read by the step's own thread while the command runs (no thread to start per
    step): masked in batches of whole lines (a secret never spans two lines, and one regex pass over
    a batch costs far less than one per line), flushed at least every FLUSH_SECONDS; each line also
    goes to `on_line` as it comes."""

    def __init__(self, source: IO[bytes], log_path: Path, on_line: Callable[[str], None] | None) -> None:
        self.source, self.fd, self.on_line = source, source.fileno(), on_line
        # a selector, not select.select(): that fails on descriptors past 1023, which a process
        # with many files open (an IDE, a long in-process session) hands out
        self.selector = selectors.DefaultSelector()
        try:
            self.selector.register(self.fd, selectors.EVENT_READ)
            self.log = log_path.open("ab")  # after the header run_command wrote
        except BaseException:
            self.selector.close()
            raise
        self.batch: list[str] = []
        self.size = 0
        self.pending = b""  # the start of a line whose end has not come yet
        self.ended = False  # the pipe is closed: every holder is gone
        self.unended = False  # the output's last line had no newline
        self.revive_at = 0.0

    def follow(self, process: subprocess.Popen[bytes], deadline: float) -> bool:
        """Read until the command exits and its output ends; False when the deadline came first."""
        while not self.ended:
            now = time.monotonic()
            if now >= deadline:
                return False
            if process.poll() is not None:  # exited: what it left holding the pipe gets a grace
                return True
            self._read(min(FLUSH_SECONDS, deadline - now))
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))  # closed its output, still running
        except subprocess.TimeoutExpired:
            return False
        return True

    def drain(self, process: subprocess.Popen[bytes]) -> None:
        """The command is done; its output ends when every holder of the pipe is gone. What it left
        running in its process group does not outlive the step; a process that left the group and
        still holds the pipe is cut off, so the step ends and the log is complete up to there."""
        try:
            for last_chance in (False, True):
                until = time.monotonic() + KILL_GRACE_SECONDS
                while not self.ended and (remaining := until - time.monotonic()) > 0:
                    self._read(min(FLUSH_SECONDS, remaining))
                if self.ended or last_chance:
                    break
                _kill_group(process)
            if self.pending:
                self._take(self.pending.decode("utf-8", errors="surrogateescape"), ending="")
                self.pending, self.unended = b"", True
            self._flush()
        finally:  # a full disk must not leave the log, the selector or the pipe open
            self.log.close()
            self.selector.close()
            self.source.close()

    def _read(self, wait: float) -> None:
        ready = self.selector.select(wait)
        if time.monotonic() >= self.revive_at:  # a killed watcher is replaced within a second
            REAPER.revive()
            self.revive_at = time.monotonic() + FLUSH_SECONDS
        if not ready:
            self._flush()
            return
        chunk = os.read(self.fd, READ_BYTES)
        if not chunk:
            self.ended = True
            return
        *lines, self.pending = (self.pending + chunk).split(b"\n")
        if len(self.pending) >= MAX_LINE_BYTES:  # a line without end is cut, not hoarded
            lines.append(self.pending)
            self.pending = b""
        for line in lines:
            self._take(line.decode("utf-8", errors="surrogateescape"))
        if self.size >= BATCH_CHARS:
            self._flush()

    def _take(self, text: str, ending: str = "\n") -> None:
        self.batch.append(text + ending)
        self.size += len(text) + len(ending)
        if self.on_line is not None:
            try:
                self.on_line(text.rstrip("\r").encode("utf-8", errors="replace").decode("utf-8"))
            except Exception:  # a broken terminal must not stop the output from reaching the log
                self.on_line = None

    def _flush(self) -> None:
        if self.batch:
            self.log.write(mask("".join(self.batch)).encode("utf-8", errors="surrogateescape"))
            self.log.flush()
            self.batch.clear()
            self.size = 0


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """TERM the whole group, then KILL what is left: grandchildren die with the command. Returns once
    no process of the group runs: a killed process lets go of its pipe before it has ended, and the
    step must not end while something it started still runs."""
    for sig, grace in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGKILL:
            _await_group_end(process.pid, time.monotonic() + KILL_GRACE_SECONDS)
            return
        if not _group_runs(process.pid):
            return


def _await_group_end(pgid: int, deadline: float) -> None:
    """Killed, a process still has to finish exiting (the kernel frees its files first): wait for
    that, not forever (a process in uninterruptible I/O ends when that I/O does)."""
    while _group_runs(pgid) and time.monotonic() < deadline:
        time.sleep(0.005)


def _group_runs(pgid: int) -> bool:
    """Does a process of the group still run? A zombie does not: it has ended, and only its
    parent's wait is left (an orphan's parent is init, which may reap it much later)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    try:
        entries = os.scandir("/proc")
    except OSError:  # no /proc (macOS): a member counts until it is reaped
        return True
    with entries:
        for entry in entries:
            if entry.name.isdigit() and _runs_in_group(Path(entry.path, "stat"), pgid):
                return True
    return False


def _runs_in_group(stat: Path, pgid: int) -> bool:
    try:
        text = stat.read_bytes()
    except OSError:  # ended meanwhile
        return False
    # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after its last ")"
    state, _, group = text[text.rindex(b")") + 2:].split(b" ", 3)[:3]
    return int(group) == pgid and state not in (b"Z", b"X")

