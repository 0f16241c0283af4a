"""At most K of something at once across processes: an agent's `max_parallel` under xdist.

Each of the K slots is a lock file in a directory the run shares (its ledger's); a step takes any
free one and waits while all are held. The holder is always a running step — it takes its slot
only when it starts and gives it back when it ends — so a wait ends, and the scheduler needs no
part in it. The operating system lets a lock go with its process, so a killed worker holds none.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.05


@contextmanager
def slot(folder: Path, name: str, limit: int, on_wait: Callable[[], None] | None = None) -> Iterator[int]:
    """Hold one of `limit` slots named `name` while the block runs; yields the slot's number.
    `on_wait` is called once when every slot is taken (to say so)."""
    # imported here: only agents with max_parallel take slots, and filelock costs every process ~10 ms
    from filelock import FileLock, Timeout

    folder.mkdir(parents=True, exist_ok=True)
    stem = hashlib.sha1(name.encode()).hexdigest()[:16]
    locks = [FileLock(str(folder / f"{stem}.{number}.lock")) for number in range(limit)]
    said = False
    while True:
        for number, lock in enumerate(locks):
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            try:
                yield number
            finally:
                lock.release()
            return
        if not said and on_wait is not None:
            on_wait()
            said = True
        time.sleep(POLL_SECONDS)
