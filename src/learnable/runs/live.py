"""Which runs are live: a run is being run exactly while some process holds the lock on its ``.live`` file.

A run's status in the store says 'running' from the moment it starts until it ends; a process killed
with SIGKILL (or a machine that lost power) never ends it, so 'running' alone cannot tell a live run
from a dead one. The process that runs a run holds an exclusive ``flock`` on ``RUN/.live`` for as long
as it runs it; the operating system drops the lock when the process dies, however it dies. So:

- a resume claims the lock first, and is refused while another process holds it (two processes
  writing one run's checkpoints would corrupt it);
- a 'running' run whose lock is free was killed: it can be resumed or deleted without ``--force``.

Where ``fcntl`` is missing (Windows), nothing is locked and every run counts as not live.

Example:
    >>> from pathlib import Path
    >>> folder = Path("/tmp/example-live-run"); folder.mkdir(exist_ok=True)
    >>> lock = claim(folder, "demo")
    >>> is_live(folder)
    True
    >>> release(lock); is_live(folder)
    False
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

LIVE = ".live"
_OPEN = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def claim(folder: Path, run_id: str) -> int | None:
    """Lock ``folder/.live`` for this process and return the lock (keep it until the run ends); a ValueError
    when another process holds it."""
    if fcntl is None:
        return None
    descriptor = os.open(folder / LIVE, _OPEN, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise ValueError(f"run {run_id} is being run by another process right now (it holds '{folder / LIVE}'); "
                         "wait for it to end, or stop it (Ctrl-C or kill) and try again.") from None
    return descriptor


def release(lock: int | None) -> None:
    """Give up a lock :func:`claim` returned (closing it unlocks it)."""
    if lock is not None:
        os.close(lock)


def is_live(folder: Path) -> bool:
    """Whether a process runs the run in ``folder`` now (a killed one does not)."""
    if fcntl is None:
        return False
    try:
        descriptor = os.open(folder / LIVE, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:  # no lock file (a run recorded by an older learnable, or its folder is gone)
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(descriptor)
