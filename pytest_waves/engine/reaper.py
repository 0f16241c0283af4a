"""No step's process outlives its run, however the run ends.

A step's command runs in its own process group (so that Ctrl-C meant for pytest does not cut a
`cargo build` or an agent half-way, and so that a timeout can kill the whole group). When pytest
ends normally, or by Ctrl-C or SIGTERM, it kills that group itself. When it cannot — `kill -9`, the
OOM killer, a crashed xdist worker or controller — a watcher does: one small process per pytest
process, started with the first command, that knows the running groups and ends them all (TERM,
then KILL) within a second of its pytest process's death, or of the xdist controller's.

The watcher learns of a death without polling: its pytest process holds the only write end of a
pipe, which the kernel closes when that process dies however it dies (EOF); the controller's death
is a pidfd that becomes readable (Linux ≥ 5.3; elsewhere it is polled). Processes that leave their
group on purpose (`setsid`, daemons) are beyond any group's reach."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

GRACE_SECONDS = 0.5  # between TERM and KILL: well inside "within a second"

_WATCHER = r"""
import os, select, signal, sys, time
fd, grace, watched = int(sys.argv[1]), float(sys.argv[2]), [int(p) for p in sys.argv[3:]]
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is pytest's to handle; this ends on EOF
handles = []
for pid in watched:
    try:
        handles.append(os.pidfd_open(pid))
    except (AttributeError, OSError):
        handles.append(None)
groups, pending = set(), b""
def gone(pid):
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
def take(chunk):
    global pending
    *lines, pending = (pending + chunk).split(b"\n")
    for line in lines:
        (groups.add if line[:1] == b"+" else groups.discard)(int(line[1:]))
while True:
    ready, _, _ = select.select([fd] + [h for h in handles if h is not None], [], [], 0.2)
    if fd in ready:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        take(chunk)
    if any(h in ready for h in handles if h is not None) or any(
            h is None and gone(pid) for h, pid in zip(handles, watched)):
        os.set_blocking(fd, False)  # what was sent just before that death counts too
        try:
            while chunk := os.read(fd, 65536):
                take(chunk)
        except BlockingIOError:
            pass
        break
def signal_all(sig):
    alive = set()
    for group in groups:
        try:
            os.killpg(group, sig)
            alive.add(group)
        except (ProcessLookupError, PermissionError):
            pass
    return alive
alive = signal_all(signal.SIGTERM)
deadline = time.monotonic() + grace
while alive and time.monotonic() < deadline:
    time.sleep(0.02)
    alive = signal_all(0)
signal_all(signal.SIGKILL)
"""


class Reaper:
    """This process's watcher: `watch(pgid)` when a command starts, `forget(pgid)` once its group is gone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1  # the process the watcher belongs to: a fork needs its own
        self._write = -1
        self._process: subprocess.Popen[bytes] | None = None
        self._groups: set[int] = set()  # running steps' process groups, to tell a new watcher
        self.watched: tuple[int, ...] = ()  # other processes whose death ends the run (xdist's controller)

    def watch(self, pgid: int) -> None:
        with self._lock:
            self._forget_parent()
            self._groups.add(pgid)
            self._send(f"+{pgid}\n")

    def forget(self, pgid: int) -> None:
        with self._lock:
            self._forget_parent()
            self._groups.discard(pgid)
            self._send(f"-{pgid}\n")

    def revive(self) -> None:
        """Called now and then while a step runs: a watcher that died (killed by someone) is
        replaced at once, and told every group still running."""
        with self._lock:
            if self._groups and self._process is not None and self._process.poll() is not None:
                self._start()

    def _forget_parent(self) -> None:
        """In a forked child: the parent's groups and watcher are the parent's. Its pipe end is
        closed here, or the parent's watcher would not see the parent die while this child lives."""
        if self._pid not in (-1, os.getpid()):
            if self._write >= 0:
                os.close(self._write)
            self._groups.clear()
            self._process, self._write, self._pid = None, -1, -1

    def _send(self, line: str) -> None:
        if self._pid != os.getpid() or self._process is None or self._process.poll() is not None:
            self._start()
            return
        try:
            os.write(self._write, line.encode())
        except OSError:  # the watcher died since we looked
            self._start()

    def _start(self) -> None:
        """A new watcher (the first, one after a fork, or one replacing a dead one), told every group."""
        if self._write >= 0:
            os.close(self._write)
        read, write = os.pipe()  # both non-inheritable: no command holds the write end open
        try:
            self._process = subprocess.Popen([sys.executable, "-I", "-S", "-c", _WATCHER, str(read), str(GRACE_SECONDS),
                                              *map(str, self.watched)], pass_fds=(read,),
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.close(read)
        self._write, self._pid = write, os.getpid()
        if self._groups:
            os.write(write, "".join(f"+{pgid}\n" for pgid in sorted(self._groups)).encode())


REAPER = Reaper()
if hasattr(os, "register_at_fork"):  # a child forked without exec must not keep the parent's pipe open
    os.register_at_fork(after_in_child=REAPER._forget_parent)
