"""Checksums: of files (computed once per file version) and of decoded pixels (code: :mod:`srbench.core.code_identity`).

File checksums use a cache keyed by (path, size, mtime), used by the store check (``data.fetch``, persisted to a small
JSON file so a re-run takes about a second) and by dataset fingerprints (``data.datasets``, in memory). A file whose
size or modification time changed is hashed again. ``array_sha256`` identifies decoded pixels (a cached LR image is
checked by it).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from srbench.core.atomic import write_text_atomic

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def git_blob_sha1(path: str | os.PathLike) -> str:
    """Hex git blob id of a file (``git hash-object``): sha1 over ``b"blob <size>\\0"`` + the bytes."""
    h = hashlib.sha1(f"blob {os.path.getsize(path)}\0".encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def array_sha256(array: np.ndarray) -> str:
    """Hex sha256 of an array's dtype, shape and C-order bytes: equal exactly when the decoded pixels are equal."""
    array = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.reshape(-1).view(np.uint8).data)  # the bytes in place: ``tobytes()`` would copy them first
    return h.hexdigest()


class HashCache:
    """sha256 per file, remembered by (size, mtime_ns); optionally persisted as JSON (keys: resolved paths)."""

    def __init__(self, json_path: Path | None = None) -> None:
        self.json_path = json_path
        self._entries: dict[str, list] = {}
        self._dirty = False
        if json_path is not None and json_path.is_file():
            try:
                loaded = json.loads(json_path.read_text())
                if isinstance(loaded, dict):
                    self._entries = loaded
            except (OSError, ValueError):
                self._entries = {}  # an unreadable cache is just a cold cache

    def sha256(self, path: str | os.PathLike, *, recheck: bool = False) -> str:
        """The file's sha256, recomputed only when it changed since last time (or when ``recheck``)."""
        key = str(Path(path).resolve())
        st = os.stat(key)
        stamp = [st.st_size, st.st_mtime_ns]
        hit = self._entries.get(key)
        if not recheck and hit is not None and hit[:2] == stamp:
            return hit[2]
        digest = sha256_file(key)
        self._entries[key] = stamp + [digest]
        self._dirty = True
        return digest

    def save(self) -> None:
        """Write the JSON file atomically (no-op for an in-memory cache or when nothing changed)."""
        if self.json_path is None or not self._dirty:
            return
        write_text_atomic(self.json_path, json.dumps(self._entries, indent=0, sort_keys=True))
        self._dirty = False


MEMORY = HashCache()


def cached_sha256(path: str | os.PathLike) -> str:
    """sha256 through the process-wide in-memory cache."""
    return MEMORY.sha256(path)
