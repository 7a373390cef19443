"""Phase marks of a long srbench process, for ``scripts/bench_memory.py``: where it is and what its caches hold; and
:func:`return_freed_memory_at_once` and :func:`return_free_memory`, which hand memory the process frees back to the
system.

With ``SRBENCH_MEMORY_TRACE=<file>`` set, :func:`mark` appends one JSON line to that file: the time, the phase (e.g.
a benchmark cell's name), this process's resident memory (``VmRSS`` from ``/proc/self/status``; 0 where there is no
``/proc``), the bytes each cache of the budget holds (:mod:`srbench.core.cache_budget`) and any counts the caller
adds (prepared runtimes). Without it, :func:`mark` does nothing, so the marks can stay in the measured code.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import time
from functools import lru_cache

from srbench.core.cache_budget import BUDGET

ENV = "SRBENCH_MEMORY_TRACE"


def resident_bytes(pid: int | str = "self") -> int:
    """A process's resident memory in bytes (``VmRSS``); 0 when it cannot be read (gone, or no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def mark(phase: str, **counts: int) -> None:
    """Record that the process enters ``phase`` (only when ``SRBENCH_MEMORY_TRACE`` names a file)."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = {"t": time.time(), "phase": phase, "rss": resident_bytes(), "cache": BUDGET.held(),
            "cache_limit": BUDGET.limit, **counts}
    with open(path, "a") as out:
        out.write(json.dumps(line) + "\n")


@lru_cache(maxsize=1)
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


#: glibc's mallopt parameter number of M_MMAP_THRESHOLD
_M_MMAP_THRESHOLD = -3
#: allocations from this size up get their own pages, returned to the system when freed
MMAP_THRESHOLD = 4 << 20
#: glibc's mallopt parameter number of M_TRIM_THRESHOLD
_M_TRIM_THRESHOLD = -1
#: free memory at the top of the heap that is kept for the next allocations instead of given back at once
TRIM_THRESHOLD = 16 << 20


def return_freed_memory_at_once() -> None:
    """Make every allocation of 4 MiB or more its own mapping, unmapped when freed, and keep at most 16 MiB free at
    the heap's top (glibc; nothing elsewhere).

    glibc serves large allocations from their own mappings at first, but each one freed raises that threshold, up to
    32 MiB; past that, a cell's images, outputs and SSIM maps (1-30 MB each, from several threads) are carved out of
    heaps that free memory cannot leave while anything small lives above it. Measured on ECDN x4 (Set5, Set14, B100;
    docs/memory.md): with the default, 1.1 GiB stayed resident after the ``ecdn_report`` cell and across the next
    network; with a fixed threshold the process fell back to 680-700 MiB after every cell. No value changes.

    Why 4 MiB and not less: every allocation above the threshold costs a fresh mapping, its page faults and an unmap,
    and scoring makes many of 1-4 MiB (B100's planes and SSIM maps, LPIPS's AlexNet feature maps). At 1 MiB, LPIPS's
    features took 21-22 ms per B100 image against 14-15 ms and the scoring 4.0-4.8 ms against 2.4-2.6 ms, in the
    benchmark's every x4 cell; at 4 MiB they are back to 15.4 and 2.6 ms, and the peaks of ``bicubic carn_m`` at x2
    (2023 against 2022 MiB) and of every ECDN x4 phase (within 30 MiB) are those of 1 MiB (docs/performance.md).

    Why the top of the heap keeps up to 16 MiB: fixing the mmap threshold also fixes glibc's trim threshold at its
    128 KiB floor, so the heap's top was given back after every image and faulted in again for the next: scoring a
    B100 image took 4.7 ms with 1,650 page faults, against 2.8 ms and none with 16 MiB kept (one B100 image's planes,
    maps and LPIPS features fit). ``malloc_trim`` at each cell's end (:func:`return_free_memory`) still gives it back.
    """
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def return_free_memory() -> None:
    """Give the memory freed inside this process back to the system (glibc's ``malloc_trim``; nothing elsewhere).

    A cell's large temporaries (network outputs, SSIM maps, a runtime's buffers) are freed when it ends, but glibc
    keeps freed heap pages for reuse, so the resident size of a long benchmark creeps up cell after cell; trimming at
    each cell's end keeps it to what is live. It takes a few milliseconds and changes no value.
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
