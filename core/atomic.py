"""Atomic file writes: a reader (another process, a resumed run) sees the old file or the whole new one, never a part.

Every writer of a file that something else may read while it is written (checkpoints, exported graphs, decoded images,
h5 caches, downloads, JSON caches, the tracking database) goes through :func:`atomic_path`: it hands out a temporary
path in the destination's folder (same file system, so the final rename is atomic), renames it over the destination
when the block ends normally, and removes it when the block raises, so an interrupted write leaves no partial file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    """The process's umask, read without changing it where Linux reports it (``os.umask`` can only set it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp", fsync: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; on a normal exit rename it to ``path`` (replacing it), on an
    exception delete it. The block writes the temporary file (any library, any mode); it exists, empty, with the
    permissions a new file gets under the process's umask. ``fsync`` flushes it to disk
    before the rename (for files that must survive a power cut, such as exported graphs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; a plain open() would respect the umask
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
