"""Files of one JSON header line followed by raw array values: the store's caches of decoded images and of LPIPS
features, read back on every cell.

A plain layout rather than ``.npz``: reading one is a ``readline``, a ``json.loads`` and one ``np.fromfile``, where
numpy's zip container opens its members, parses a header per member and checks each member's CRC-32 (for a
small LR image that made up most of the read). What the values mean, and how they are checked, is the caller's:
the header is a dict of its own keys.
"""

from __future__ import annotations

import json
import os

import numpy as np

from srbench.core.atomic import write_bytes_atomic


def write_header_and_values(path: str | os.PathLike, header: dict, arrays: list[np.ndarray], dtype: str) -> None:
    """Write ``header`` as one line of JSON, then the values of ``arrays`` as ``dtype`` (C order, one after
    another), atomically (:mod:`srbench.core.atomic`); an ``OSError`` is the caller's to ignore or raise."""
    line = json.dumps(header, sort_keys=True).encode() + b"\n"
    write_bytes_atomic(path, line + b"".join(np.ascontiguousarray(a, dtype=dtype).tobytes() for a in arrays))


def read_header_and_values(path: str | os.PathLike, dtype: str) -> tuple[dict, np.ndarray] | None:
    """(header, every value after it as one flat ``dtype`` array), or None when the file cannot be read or its
    first line is not a JSON object."""
    try:
        with open(path, "rb") as fh:
            header = json.loads(fh.readline())
            flat = np.fromfile(fh, dtype=dtype)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return (header, flat) if isinstance(header, dict) else None
