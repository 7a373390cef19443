"""How this process's heap hands freed memory back (glibc's ``mallopt`` and ``malloc_trim``; nothing elsewhere).

Two policies, one per kind of process, neither changing any value:

* :func:`return_freed_memory_at_once` for the long benchmark, whose resident size must stay within its budget
  (docs/memory.md), with :func:`return_free_memory` at each cell's end;
* :func:`keep_freed_memory` for a short command that makes the same large temporaries again and again
  (``srbench explain``: about ten outputs an image, each quantised, converted and filtered), where handing pages
  back only to fault them in again for the next image is wasted time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache


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


#: glibc's mallopt parameter number of M_ARENA_MAX
_M_ARENA_MAX = -8
#: :func:`keep_freed_memory`'s mmap threshold: glibc's largest (``HEAP_MAX_SIZE / 2`` on 64-bit systems)
KEEP_MMAP_THRESHOLD = 32 << 20
#: :func:`keep_freed_memory`'s trim threshold
KEEP_TRIM_THRESHOLD = 256 << 20


def keep_freed_memory() -> None:
    """Serve allocations under 32 MiB from the heap and keep up to 256 MiB of freed memory at its top, for the next
    allocations, in one heap for all threads (glibc; nothing elsewhere). Call it before starting threads.

    glibc's default starts with every allocation from 128 KiB up in its own mapping, unmapped when freed, and only
    raises that threshold as such blocks are freed; ``srbench explain`` makes about ten outputs an image (bicubic,
    Set14 x4: 76 forward passes of 2-6 MB temporaries each, and their planes and SSIM maps), so most of them were
    fresh pages: 280,000 page faults for one cell against 80,000 for ``srbench evaluate``. With this policy, measured
    alternately with the default on that cell (six rounds each, medians): 2.01 s against 2.10 s wall
    (docs/protocol.md).
    The process holds its largest image's temporaries until it exits, which a one-cell command can afford.

    One heap (arena) for every thread: ``explain``'s threads each make large arrays that another frees (the passes'
    thread makes the outputs the main thread scores and drops), and with an arena per thread each heap grew to its
    own peak. With one: 61,000-63,000 page faults against 71,000-99,000, 1.88-1.91 s against 1.93-1.95 s (three
    rounds each). Python's small objects have their own allocator, so the shared heap's lock is rarely contended.
    """
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, KEEP_MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, KEEP_TRIM_THRESHOLD)
        libc.mallopt(_M_ARENA_MAX, 1)
