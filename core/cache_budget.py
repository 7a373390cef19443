"""One byte budget for everything a long srbench process keeps only to avoid computing it again.

A benchmark keeps decoded images (so a dataset is not decoded once per cell) and network outputs that later cells of
the same computation measure under their own protocol (:mod:`srbench.eval.shared_passes`). Both are caches: dropping
an entry costs time (the image is read again, the forward pass is run again), never a number. They share one budget,
:data:`BUDGET`, whose limit is the one knob ``SRBENCH_CACHE_MB`` (default :data:`DEFAULT_MB`, which fits a laptop
beside the largest forward pass; ``srbench benchmark --cache-mb`` sets it for one invocation). ``0`` keeps nothing.

Each cache is a :class:`BudgetedCache`: a dict ordered by use whose entries declare their bytes. Adding an entry past
the limit first evicts entries of the caches that are cheapest to refill (lowest ``refill_cost``: decoded images
before network outputs), each cache in its own order: least recently used first, or most recently used first for a
cache read in repeated scans (a benchmark's cells read each dataset in the same order, cell after cell: when the
images do not all fit, least-recently-used eviction drops exactly the image the next cell reads first, and every
read misses; dropping the newest keeps the first images of the scan and hits on them). An entry larger than the whole
limit is simply not kept. So the budget is never exceeded and nothing fails for lack of it: past it, work is redone.

What the budget does not hold, and why: prepared runtimes (their memory is the runtime library's, not measurable
here; the benchmark keeps each only while a pending cell needs it) and the model's own forward pass.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from srbench.core.errors import SrbenchError

ENV = "SRBENCH_CACHE_MB"
#: MiB kept by default: what keeps `make benchmark` within 2 GiB beside its largest working set (ECDN x2 on
#: Urban100's largest image under OpenVINO: about 1.7 GiB with the imports; docs/memory.md)
DEFAULT_MB = 256
MIB = 2 ** 20


def parse_mb(text: str, where: str) -> int:
    """A budget in MiB (a number >= 0) as bytes; a one-line error naming ``where`` otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise SrbenchError(f"{where}: {text!r} is not a cache budget in MiB (a number >= 0, e.g. 256; 0 keeps nothing)")
    return int(value * MIB)


def limit_from_env() -> int:
    """The budget in bytes from ``SRBENCH_CACHE_MB`` (else :data:`DEFAULT_MB`)."""
    return parse_mb(os.environ.get(ENV, str(DEFAULT_MB)), ENV)


class CacheBudget:
    """The shared limit and the caches that count against it."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = int(limit_bytes)
        self._caches: weakref.WeakSet[BudgetedCache] = weakref.WeakSet()  # a cache no one uses leaves the budget

    def set_limit(self, limit_bytes: int) -> None:
        """A new limit, applied at once (entries past it are evicted)."""
        self.limit = int(limit_bytes)
        self._make_room(0)

    @property
    def used(self) -> int:
        """Bytes held by every cache of this budget."""
        return sum(c.bytes for c in list(self._caches))

    def held(self) -> dict[str, int]:
        """Bytes held per cache name (for ``scripts/bench_memory.py``'s breakdown)."""
        out: dict[str, int] = {}
        for c in list(self._caches):
            out[c.name] = out.get(c.name, 0) + c.bytes
        return out

    def _register(self, cache: BudgetedCache) -> None:
        self._caches.add(cache)

    def _make_room(self, nbytes: int) -> bool:
        """Evict, cheapest to refill first, until ``nbytes`` more fit; False when they never can."""
        if nbytes > self.limit:
            return False
        for cache in sorted(self._caches, key=lambda c: (c.refill_cost, c.name)):
            while self.used + nbytes > self.limit and cache.evict_one():
                pass
        return self.used + nbytes <= self.limit


class BudgetedCache:
    """A least-recently-used dict of entries with declared sizes, counted against ``budget``.

    ``refill_cost``: how dear an entry is to make again (caches with a lower one are evicted first); ``scans``: the
    cache is read in repeated scans, so its most recently used entry is evicted first (see the module docstring);
    ``share``: the part of the budget's limit this cache may hold at most (its own entries are evicted past it), for
    a cache whose entries are cheap to refill from elsewhere (decoded images with their disk copy).
    """

    def __init__(self, name: str, budget: CacheBudget, *, refill_cost: int, scans: bool = False,
                 share: float = 1.0) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be within [0, 1], got {share}")
        self.name = name
        self.scans = scans
        self.share = share
        self.budget = budget
        self.refill_cost = refill_cost
        self._items: dict[Hashable, tuple[Any, int]] = {}
        self.bytes = 0
        budget._register(self)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def keys(self) -> Iterator[Hashable]:
        return iter(list(self._items))

    def get(self, key: Hashable) -> Any | None:
        """The entry of ``key`` (now the most recently used), or None."""
        hit = self._items.pop(key, None)
        if hit is None:
            return None
        self._items[key] = hit
        return hit[0]

    def put(self, key: Hashable, value: Any, nbytes: int) -> bool:
        """Keep ``value`` as ``key`` when the budget has (or can make) room; False when it was not kept."""
        self.discard(key)
        own_limit = self.budget.limit * self.share
        if nbytes > own_limit:
            return False
        while self.bytes + nbytes > own_limit and self.evict_one():
            pass
        if not self.budget._make_room(nbytes):
            return False
        self._items[key] = (value, int(nbytes))
        self.bytes += int(nbytes)
        return True

    def discard(self, key: Hashable) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[1]

    def discard_where(self, test: Callable[[Hashable], bool]) -> None:
        """Drop every entry whose key passes ``test``."""
        for key in [k for k in self._items if test(k)]:
            self.discard(key)

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def evict_one(self) -> bool:
        """Drop the least recently used entry (the most recently used one for ``scans``); False when there is none."""
        if not self._items:
            return False
        self.discard(next(reversed(self._items)) if self.scans else next(iter(self._items)))
        return True


#: the process's budget (``SRBENCH_CACHE_MB``); ``srbench benchmark --cache-mb`` changes its limit
BUDGET = CacheBudget(limit_from_env())
