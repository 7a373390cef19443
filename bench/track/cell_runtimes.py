"""Which inference runtime each benchmark cell runs on, decided once per cell group for one invocation.

A cell group is one network (model, weights sha256, group), BN mode and scale: the cells that differ only in
protocol (``standard``, ``paper_gray``, ``ecdn_report``) or datasets. For each group and requested runtime
(``auto`` or a declared one) :class:`CellRuntimes` decides the runtime once, before the group's first cell is
measured, and every cell of the group then uses it: ``auto``'s choice comes from the tracking store when any run of
the experiment recorded one for the same network, BN mode, scale and device (:func:`stored_choices`: a shard or a
requeue on another machine takes it instead of probing), else from this machine's cache
(:func:`srbench.eval.runtimes.choose_runtime`; a warm rerun does not probe), so timing noise never changes a cell key.
The probe of the fidelity gate and of auto's timing is the first image of the first cell's first dataset.

Prepared runtimes (ONNX Runtime sessions, compiled OpenVINO models) are kept while their network is in memory
(:meth:`CellRuntimes.forget_runners` when the runner drops the network). Each decision prints one line.

This is the one path that loads a network and prepares its runtime, for the benchmark runner, ``srbench evaluate``
(:func:`srbench.api.evaluation.evaluate_named`) and ``srbench explain``: a :class:`Network` names a network by content
and loads it (:meth:`Network.load`); :meth:`CellRuntimes.use` decides its runtime, :meth:`CellRuntimes.runner`
prepares it (through the fidelity gate), and :meth:`CellRuntimes.ready` does both, turning a declared runtime that
declines into a one-line error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from srbench.core.store import cache_root
from srbench.eval.inference import Inference
from srbench.eval.protocol import Protocol
from srbench.eval.runtimes import (CHOICE_KEY_TAG, SELECTION_TAG, Probe, Runner, RuntimeDeclined, RuntimeUse,
                                   choose_runtime, declined_error, prepare_use, probe_sample)
from srbench.eval.weights import ResolvedWeights, load_eval_model, network_digest
from srbench.track.run_writer import call


@dataclass(frozen=True)
class Network:
    """A network to evaluate, named by content: the model, its resolved weights (sha256), the group override, the
    checkpoint key and the inference knobs (ensemble, tiling)."""

    model: str
    weights: ResolvedWeights
    group: int | None = None
    weights_key: str | None = None
    inference: Inference = field(default_factory=Inference)

    @property
    def identity(self) -> tuple:
        """What one in-memory network and its runtime decisions are keyed by (never the weights' name)."""
        return (self.model, self.weights.sha256, self.group, self.weights_key, self.inference)

    @property
    def digest(self) -> str:
        """The sha256 a captured runtime graph is keyed by (:func:`srbench.eval.weights.network_digest`)."""
        return network_digest(self.model, self.weights, self.weights_key)

    def load(self, device: torch.device, scales) -> torch.nn.Module:
        """The network built for ``scales``, weights loaded strictly, ready for inference on ``device``
        (:func:`srbench.eval.weights.load_eval_model`)."""
        return load_eval_model(self.model, self.weights, device=device, group=self.group, scales=tuple(scales),
                               weights_key=self.weights_key, inference=self.inference)


def runtime_cache_dir() -> Path:
    """Where ONNX exports and auto's runtime choices are kept: the store's ``cache/runtimes``."""
    return cache_root() / "runtimes"


def stored_choices(client, experiment_id: str) -> Callable[[str], dict | None]:
    """A lookup of auto's choice by its key among the experiment's runs (any status, deleted ones too: a killed
    cell's choice is as good as a finished one's). FINISHED runs first, then by run id, so that every reader takes
    the same record should two differ."""
    from mlflow.entities import ViewType

    def lookup(key: str) -> dict | None:
        runs = call(client, "search_runs", [experiment_id], f"tags.`{CHOICE_KEY_TAG}` = '{key}'",
                    run_view_type=ViewType.ALL, max_results=50)
        for run in sorted(runs, key=lambda r: (r.info.status != "FINISHED", r.info.run_id)):
            try:
                return json.loads(run.data.tags.get(SELECTION_TAG, ""))
            except ValueError:
                continue
        return None

    return lookup


class CellRuntimes:
    """One runtime per (network, BN mode, scale, requested runtime) for one benchmark invocation. ``stored``: auto's
    choices recorded in the tracking store (:func:`stored_choices`)."""

    def __init__(self, device: torch.device, cache_dir: Path | None = None,
                 say: Callable[[str], None] = print, stored: Callable[[str], dict | None] | None = None) -> None:
        self.device = device
        self.stored = stored
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
                                 stored=self.stored)
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

    def ready(self, net: Network, requested: str, model: torch.nn.Module, *, scale: int, bn_mode: str,
              dataset: str, protocol: Protocol, label: str) -> RuntimeUse:
        """``model`` (the loaded ``net``) on the runtime ``requested`` decides, prepared: the decision and the
        prepared runtime (``use.runner``); a runtime that declines is a one-line error (auto falls back instead)."""
        where = dict(scale=scale, bn_mode=bn_mode, weights_sha256=net.digest, dataset=dataset, protocol=protocol)
        use = self.use(net.identity, requested, lambda: model, label=label, **where)
        try:
            self.runner(net.identity, use, model, **where)
        except RuntimeDeclined as exc:
            raise declined_error(exc, model, scale, bn_mode) from exc
        return use

    def forget_runners(self) -> None:
        """Drop the prepared runtimes (their network left memory); the decisions stay."""
        self._runners.clear()
        for use in self._uses.values():
            use.runner = None
            if use.selection is not None:
                use.selection.runner = None
