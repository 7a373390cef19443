"""Forward passes and cost measurements that several cells of one benchmark invocation need, computed once.

The cells that differ only in protocol (``standard``, ``paper_gray``, ``ecdn_report``) run the same network, on the
same runtime, in the same BN mode, at the same scale, on the same LR images: the network's output is the same array
whatever the protocol then does with it (rounding or truncating it, measuring Y or RGB, cropping a border). So the
first such cell keeps each image's float output (before quantisation) and the latency and memory figures, and the
later ones measure those under their own protocol instead of running the network again. The speed issue allows
exactly this: "a forward pass that several cells need may be computed once and measured under each protocol".

A :class:`PassScope` is one computation: (network by content, runtime that runs it, the BN mode it runs in, scale,
device). Whoever builds the key must make it name the computation exactly (``srbench.track.benchmark`` does: a
BN-free network's ``batch`` mode is its ``eval`` mode, nothing else is merged). Within a scope an image is named by
(dataset, LR source, image name): the same files within one invocation. Outputs are kept only for the datasets that another
pending cell of the scope still needs (:meth:`SharedPasses.need`, one count per cell, released by
:meth:`SharedPasses.done`), and dropped once none does; they count against the process's cache budget
(:mod:`srbench.core.cache_budget`), so an output the budget cannot hold is not kept and the later cell runs its own
forward pass (time, never a different number: the pass is deterministic on the same runtime). An output is kept as
8 bits, a quarter of its float size, when every other pending cell of its dataset quantises it the same way
(``round`` or ``truncate``: ``standard`` and ``paper_gray`` round, ``ecdn_report`` truncates), since those cells
measure nothing but that quantisation of it; otherwise it is kept as it came out.

Honesty in the logs: a reused output keeps the forward time of the pass that made it, but a cell's
``forward_s.<dataset>`` counts only the passes it ran itself; the run that computed each reused output (and cost
figure) is named (``PassScope.sources``, logged as the ``srbench.shared_from`` tag by the benchmark).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np

from srbench.core.cache_budget import BUDGET, BudgetedCache, CacheBudget
from srbench.eval.scoring import quantize as quantize_output


@dataclass(frozen=True)
class SharedOutput:
    """One image's network output as it came out (HxWx3 float32, checked finite) or, where ``quantized`` names the
    mode, already quantised by it to 8 bits; the seconds its forward pass took and the run that computed it."""

    sr: np.ndarray
    forward_s: float
    source: str
    quantized: str | None = None


@dataclass
class PassScope:
    """The shared passes of one computation (see the module docstring), seen by one cell run (``source``)."""

    owner: SharedPasses
    key: Hashable
    source: str
    sources: set[str] = field(default_factory=set)

    def get(self, dataset: str, lr_source: str, name: str) -> SharedOutput | None:
        """The output an earlier cell computed for this image, or None; a hit records its source."""
        hit = self.owner._outputs.get((self.key, str(dataset), lr_source, name))
        if hit is not None:
            self.sources.add(hit.source)
        return hit

    def put(self, dataset: str, lr_source: str, name: str, sr: np.ndarray, forward_s: float,
            quantize: str = "float", quantized: np.ndarray | None = None) -> None:
        """Keep this image's output when another cell (besides this one, which quantises it by ``quantize``) still
        needs its dataset in this scope: as 8 bits when every such cell quantises it by one 8-bit mode.
        ``quantized``: this cell's own ``quantize`` of ``sr``, when it made one, used instead of quantising again
        where the other cells quantise alike."""
        need = (self.key, str(dataset), lr_source)
        if self.owner._needs[need] <= 1:
            return
        others = self.owner._modes[need].copy()
        others[quantize] -= 1
        modes = {mode for mode, count in others.items() if count > 0}
        mode = modes.pop() if len(modes) == 1 and modes <= {"round", "truncate"} else None
        if mode is None:
            kept_sr = sr
        elif mode == quantize and quantized is not None:
            kept_sr = quantized
        else:
            kept_sr = quantize_output(sr, mode)
        kept = SharedOutput(kept_sr, float(forward_s), self.source, mode)
        self.owner._outputs.put((*need, name), kept, kept.sr.nbytes)

    def cost(self, settings: Hashable, measure: Callable[[], dict]) -> dict:
        """The latency/memory figures measured under ``settings`` in this scope: measured once, then copied."""
        store = self.owner._costs
        if (self.key, settings) in store:
            figures, source = store[(self.key, settings)]
            self.sources.add(source)
            return dict(figures)
        figures = measure()
        store[(self.key, settings)] = (dict(figures), self.source)
        return figures


class SharedPasses:
    """The shared outputs and cost figures of one benchmark invocation, by scope."""

    def __init__(self, budget: CacheBudget | None = None) -> None:
        self._outputs = BudgetedCache("shared outputs", budget or BUDGET, refill_cost=2)
        self._costs: dict[tuple, tuple[dict, str]] = {}
        self._needs: Counter = Counter()
        self._modes: defaultdict[tuple, Counter] = defaultdict(Counter)  # per need: its cells' quantize modes

    def need(self, key: Hashable, dataset: str, lr_source: str, count: int = 1, quantize: str = "float") -> None:
        """Declare that ``count`` more cells of scope ``key`` will measure ``dataset``, each quantising the outputs
        by ``quantize`` (so its outputs are kept, as 8 bits where they all quantise alike)."""
        self._needs[(key, str(dataset), lr_source)] += count
        self._modes[(key, str(dataset), lr_source)][quantize] += count

    def done(self, key: Hashable, dataset: str, lr_source: str, quantize: str = "float") -> None:
        """One cell that declared ``dataset`` in scope ``key`` (quantising by ``quantize``) is over (measured, reused
        or skipped); when none is left, its outputs are dropped."""
        need = (key, str(dataset), lr_source)
        self._needs[need] = max(0, self._needs[need] - 1)
        self._modes[need][quantize] = max(0, self._modes[need][quantize] - 1)
        if self._needs[need] == 0:
            self._outputs.discard_where(lambda k: k[:3] == need)

    def clear(self) -> None:
        """Drop every kept output and cost figure (the benchmark's network left memory); the needs stay counted, so a
        cell run again later (a second pass over claimed cells) shares with its own scope as before."""
        self._outputs.clear()
        self._costs.clear()

    def scope(self, key: Hashable, source: str) -> PassScope:
        """The passes of computation ``key`` as seen by the cell run ``source``."""
        return PassScope(self, key, source)

    @property
    def kept_images(self) -> int:
        """How many outputs are held now (for tests and progress notes)."""
        return len(self._outputs)
