"""``--shard K/N``: a deterministic K-th of a benchmark's cells, so N processes can fill one tracking server.

Assignment: the planned cells (in the experiment's order, :func:`srbench.track.benchmark.plan`) are put in shard groups
(:attr:`srbench.track.benchmark.Cell.shard_unit`: one model's weights at one scale, every BN mode, protocol, inference
knob and requested runtime), numbered 0, 1, 2, ... by first appearance; group ``i`` belongs to shard ``i mod N + 1``.
A shard group holds every cell that can share a forward pass (:mod:`srbench.eval.shared_passes`, where a network
without BatchNorm runs both BN modes as one) or an ``auto`` runtime choice (:mod:`srbench.runtime_choice`), so
each choice is made, and each shared pass run, on one machine. The assignment depends only on the experiment file
and the command line's narrowing, not on the store, the machine or timing: every shard must be started with the same
file and options. The shards 1/N ... N/N together are exactly the unsharded plan, each cell in one shard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from srbench.core.errors import SrbenchError

T = TypeVar("T")
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4); anything else (K outside 1..N, N < 1) is a one-line error."""
    m = _SHARD.match(str(text))
    if not m:
        raise SrbenchError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 1/4")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= k <= n:
        raise SrbenchError(f"--shard {text!r}: K must be between 1 and N (N >= 1), e.g. --shard 1/{max(n, 1)}")
    return k, n


def shard_cells(cells: Sequence[T], k: int, n: int,
                group: Callable[[T], object] = lambda c: c.shard_unit) -> list[T]:
    """The cells of shard ``k`` of ``n`` (1-based), in planned order: group ``i`` (by first appearance) goes to shard
    ``i mod n + 1``."""
    if n < 1 or not 1 <= k <= n:
        raise SrbenchError(f"shard {k}/{n}: K must be between 1 and N")
    index: dict[object, int] = {}
    for cell in cells:
        index.setdefault(group(cell), len(index))
    return [cell for cell in cells if index[group(cell)] % n == k - 1]
