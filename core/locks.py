"""An exclusive advisory file lock between processes (the tracking store's creation, the training data cache)."""

from __future__ import annotations

import contextlib
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path):
    """An exclusive advisory lock on ``path`` (created), held for the block; the kernel drops it if we die."""
    import fcntl

    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
