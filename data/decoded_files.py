"""Decoded images kept on disk uncompressed, so that a benchmark decodes each image file once, not in every cell.

Under the default cache budget (:mod:`srbench.core.cache_budget`, 256 MiB) most of Urban100's HR images cannot stay
decoded in memory between cells, and decoding one of its PNGs again costs 25-35 ms: over the default benchmark,
about a minute of harness time (docs/memory.md). :func:`read_decoded` reads an image's pixels instead from
``<cache>/decoded/<key>.u8`` (:mod:`srbench.core.raw_file`: a JSON line, then the pixels as they lie in memory; from
the page cache, its check included, 1.2 ms for an Urban100 image, 0.3 ms for B100's and 0.05 ms for a Set14 x4 LR
image), named by what decides them: the file's sha256, the decoding code (:func:`srbench.data.images.read_image`) and Pillow's
version. No value changes: the arrays are the very ones decoding makes. Because reading one back is this cheap,
decoded images hold only a small share of the cache budget in memory (``srbench.data.datasets.DecodedSamples``).

The header also records the pixels' shape, their :func:`~srbench.core.hashing.array_sha256` (handed to callers that
compare pixels with a recorded hash, such as a cached LR image's check) and their CRC-32, checked on every read, so a
damaged or altered file is never measured: it is decoded again and replaced. (CRC-32 reads 3 MB in 0.6 ms where
sha256 took 2 ms, on every read of every image of every cell. Until 2026-12-07 the file was an ``.npz``, whose zip
container took most of the time of reading a small image.) Writing is best effort (a read-only cache decodes
every time) and atomic (:mod:`srbench.core.atomic`); deleting the folder only costs time. ``SRBENCH_DECODED_FILES=0``
turns the disk copy off.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import PIL

from srbench.core.code_identity import source_fingerprint
from srbench.core.hashing import array_sha256, cached_sha256
from srbench.core.raw_file import read_header_and_values, write_header_and_values
from srbench.core.store import cache_root
from srbench.data import images

#: set to 0 to decode from the image file every time (nothing is written to the cache)
ENV = "SRBENCH_DECODED_FILES"


@lru_cache(maxsize=1)
def decoder_version() -> str:
    """What decides the decoded pixels besides the file: the decoding code and Pillow's version."""
    return f"{source_fingerprint(inspect.getsource(images))[:16]}-pillow{PIL.__version__}"


def enabled() -> bool:
    """Whether decoded images are kept on disk (``SRBENCH_DECODED_FILES`` is not ``0``)."""
    return os.environ.get(ENV, "1") != "0"


#: what a kept file holds (its name depends on it, so a file of another layout is never looked for)
FORMAT = "json-header+uint8-pixels/1"


def decoded_file(path: Path) -> Path:
    """Where the decoded pixels of the image file ``path`` (as it is now) are kept."""
    identity = {"file": cached_sha256(path), "decoder": decoder_version(), "format": FORMAT}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
    return cache_root() / "decoded" / f"{key}.u8"


def has_decoded_copy(path: str | os.PathLike) -> bool:
    """True when a decoded copy of the image file ``path`` (as it is now) is on disk (not checked: reading it is)."""
    try:
        return decoded_file(Path(path)).is_file()
    except OSError:
        return False


def pixels_crc32(pixels: np.ndarray) -> int:
    """CRC-32 of an array's C-order bytes (the integrity check of a kept copy)."""
    return zlib.crc32(np.ascontiguousarray(pixels).reshape(-1).view(np.uint8).data)


def _read(stored: Path) -> tuple[np.ndarray, str] | None:
    """The pixels kept in ``stored`` and their recorded sha256 when they are intact (as many as the recorded shape
    holds, and their CRC-32 the recorded one), else None."""
    read = read_header_and_values(stored, "u1")
    if read is None:
        return None
    header, flat = read
    try:
        shape, recorded, crc = tuple(int(n) for n in header["shape"]), str(header["sha256"]), int(header["crc32"])
    except (KeyError, TypeError, ValueError):
        return None
    if header.get("format") != FORMAT or len(shape) not in (2, 3) or int(np.prod(shape)) != flat.size:
        return None
    if pixels_crc32(flat) != crc:
        return None
    return flat.reshape(shape), recorded


def read_decoded_with_sha256(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """:func:`read_decoded` and the pixels' :func:`~srbench.core.hashing.array_sha256`, which reading the disk copy
    checks anyway: a caller that compares the pixels with a recorded hash (a cached LR image) need not hash them
    again."""
    path = Path(path)
    if not enabled():
        pixels = images.read_image(path)
        return pixels, array_sha256(pixels)
    try:
        stored = decoded_file(path)
    except OSError:  # the file cannot be hashed: let the decoder name the problem
        pixels = images.read_image(path)
        return pixels, array_sha256(pixels)
    kept = _read(stored) if stored.is_file() else None
    if kept is not None:
        return kept
    pixels = images.read_image(path)
    sha = array_sha256(pixels)
    header = {"format": FORMAT, "shape": list(pixels.shape), "sha256": sha, "crc32": pixels_crc32(pixels)}
    try:
        write_header_and_values(stored, header, [pixels], "u1")
    except OSError:
        pass
    return pixels, sha


def read_decoded(path: str | os.PathLike) -> np.ndarray:
    """:func:`srbench.data.images.read_image` of ``path``: the same uint8 array, from the disk copy when there is an
    intact one, else decoded now and kept (see the module docstring). Errors are ``read_image``'s."""
    if not enabled():
        return images.read_image(path)  # nothing to check: no hash
    return read_decoded_with_sha256(path)[0]
