"""An exclusive advisory file lock between processes (the tracking store's creation, the training data cache)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from srbench.core.errors import SrbenchError


@contextlib.contextmanager
def file_lock(path: Path, hint: str = ""):
    """An exclusive advisory lock on ``path`` (created), held for the block; the kernel drops it if we die.

    A lock file that cannot be created or locked (``/proc``, a read-only or lock-less file system) is a one-line
    :class:`SrbenchError` naming it, ending with ``hint`` (what the user can do instead) when given.
    """
    import fcntl

    fh = None
    try:
        fh = open(path, "a")
        fcntl.flock(fh, fcntl.LOCK_EX)
    except OSError as exc:
        if fh is not None:
            fh.close()
        raise SrbenchError(f"{path}: cannot lock (it cannot be created or locked: {exc.strerror or exc}); put it on a "
                           f"writable local file system{' ' + hint if hint else ''}") from None
    with fh:
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
