"""Which inference runtime each benchmark cell runs on, decided once per cell group for one invocation.

A cell group is one network (model, weights sha256, group), BN mode and scale: the cells that differ only in
protocol (``standard``, ``paper_gray``, ``ecdn_report``) or datasets. For each group and requested runtime
(``auto`` or a declared one) :class:`CellRuntimes` decides the runtime once, before the group's first cell is
measured, and every cell of the group then uses it: ``auto``'s choice comes from the tracking store when any run of
the experiment recorded one for the same network, BN mode, scale and device (``stored``, e.g.
:func:`srbench.track.stored_choices.stored_choices`: a shard or a requeue on another machine takes it instead of
probing), else from this machine's cache (:func:`srbench.runtime_choice.use.choose_runtime`; a warm rerun does not
probe), so timing noise never changes a cell key. The probe of the fidelity gate and of auto's timing is the first
image of the first cell's first dataset.

Prepared runtimes (ONNX Runtime sessions, compiled OpenVINO models) are kept only while a pending cell needs them: the
benchmark drops one when the last cell of its group is handled (:meth:`CellRuntimes.forget_runner`), and all of them
when it drops the network (:meth:`CellRuntimes.forget_runners`). A compiled OpenVINO model holds about 0.9 GB after
ECDN x2's largest Urban100 image (docs/memory.md), so keeping every group's would cost gigabytes. Each decision prints
one line.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from srbench.core.store import cache_root
from srbench.eval.protocol import Protocol
from srbench.eval.runtimes import Runner
from srbench.runtime_choice.apart import CountAt, select_runtime_apart
from srbench.runtime_choice.selection import select_runtime
from srbench.runtime_choice.use import Probe, RuntimeUse, choose_runtime, prepare_use, probe_sample


def runtime_cache_dir() -> Path:
    """Where ONNX exports and auto's runtime choices are kept: the store's ``cache/runtimes``."""
    return cache_root() / "runtimes"


class CellRuntimes:
    """One runtime per (network, BN mode, scale, requested runtime) for one benchmark invocation. ``stored``: auto's
    choices recorded in the tracking store (:func:`stored_choices`). ``probe_apart``: auto's probes run in a child
    process (:mod:`srbench.runtime_choice.apart`: the benchmark's, on CPU, so that the probes' leftovers do not add
    to its peak memory); otherwise in this process, whose prepared runtime the cell then reuses. ``count``: where the
    benchmark's complexity figures are counted, so that the probe child counts them too (``select_runtime_apart``)."""

    def __init__(self, device: torch.device, cache_dir: Path | None = None,
                 say: Callable[[str], None] = print, stored: Callable[[str], dict | None] | None = None,
                 probe_apart: bool = False, count: CountAt | None = None) -> None:
        self.device = device
        self.stored = stored
        self.select = partial(select_runtime_apart, count=count) if probe_apart else select_runtime
        self.cache_dir = Path(cache_dir) if cache_dir is not None else runtime_cache_dir()
        self.say = say
        self._uses: dict[tuple, RuntimeUse] = {}
        self._runners: dict[tuple, Runner] = {}
        self._probes: dict[tuple, Probe] = {}

    def _probe(self, dataset: str, scale: int, lr_source: str) -> Callable[[], Probe]:
        def load() -> Probe:
            key = (str(dataset), scale, lr_source)
            if key not in self._probes:
                self._probes[key] = probe_sample(dataset, scale, lr_source)
            return self._probes[key]
        return load

    def use(self, group: tuple, requested: str, model: Callable[[], torch.nn.Module], *, scale: int, bn_mode: str,
            weights_sha256: str, dataset: str, protocol: Protocol, label: str) -> RuntimeUse:
        """The runtime of ``group`` (network identity, by content) at ``scale`` in ``bn_mode`` for ``requested``;
        ``model()`` gives the network, called only for ``auto`` (a declared runtime needs no network to be named)."""
        key = (group, scale, bn_mode, requested)
        if key not in self._uses:
            use = choose_runtime(model() if requested == "auto" else None, requested, scale=scale, bn_mode=bn_mode,
                                 device=self.device,
                                 weights_sha256=weights_sha256, cache_dir=self.cache_dir,
                                 probe=self._probe(dataset, scale, protocol.lr_input), protocol=protocol,
                                 stored=self.stored, select=self.select)
            self._uses[key] = use
            if requested == "auto":
                self.say(f"runtime for {label}: {use.choice_note}")
        return self._uses[key]

    def runner(self, group: tuple, use: RuntimeUse, model: torch.nn.Module, *, scale: int, bn_mode: str,
               weights_sha256: str, dataset: str, protocol: Protocol) -> Runner:
        """The prepared runtime of ``use`` (raises RuntimeDeclined when it cannot serve the model, or a declared
        runtime fails the fidelity gate)."""
        key = (group, scale, bn_mode, use.runtime, use.requested)  # a declared runtime is gated, auto's was
        if key not in self._runners:
            self._runners[key] = prepare_use(use, model, scale=scale, bn_mode=bn_mode, device=self.device,
                                             weights_sha256=weights_sha256, cache_dir=self.cache_dir,
                                             probe=self._probe(dataset, scale, protocol.lr_input),
                                             protocol=protocol)
        use.runner = self._runners[key]
        return use.runner

    @property
    def prepared(self) -> int:
        """How many prepared runtimes are held now."""
        return len(self._runners)

    def forget_runner(self, group: tuple, *, scale: int, bn_mode: str, requested: str) -> None:
        """Drop the prepared runtime of one group (no pending cell needs it); its decision stays."""
        for key in [k for k in self._runners if (k[0], k[1], k[2], k[4]) == (group, scale, bn_mode, requested)]:
            del self._runners[key]
        use = self._uses.get((group, scale, bn_mode, requested))
        if use is not None:
            use.runner = None
            if use.selection is not None:
                use.selection.runner = None

    def forget_runners(self) -> None:
        """Drop the prepared runtimes (their network left memory); the decisions stay."""
        self._runners.clear()
        for use in self._uses.values():
            use.runner = None
            if use.selection is not None:
                use.selection.runner = None
