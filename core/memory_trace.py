"""Phase marks of a long srbench process, for ``scripts/bench_memory.py``: where it is and what its caches hold
(how the process's heap gives memory back is :mod:`srbench.core.heap`).

With ``SRBENCH_MEMORY_TRACE=<file>`` set, :func:`mark` appends one JSON line to that file: the time, the phase (e.g.
a benchmark cell's name), this process's resident memory (``VmRSS`` from ``/proc/self/status``; 0 where there is no
``/proc``), the bytes each cache of the budget holds (:mod:`srbench.core.cache_budget`) and any counts the caller
adds (prepared runtimes). Without it, :func:`mark` does nothing, so the marks can stay in the measured code.
"""

from __future__ import annotations

import json
import os
import time

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
