"""The cells of a benchmark experiment: what each measures (:func:`plan`), what names it (:func:`cell_identity`, the
cell key's content, see :mod:`srbench.track.cells`) and the tags its run carries (:func:`cell_tags`).

A cell is (model entry, BN mode, scale, runtime) over the entry's datasets; :func:`plan` resolves every entry's
weights and expands the cells before any work, so bad input fails at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from srbench.core.errors import SrbenchError
from srbench.core.strict import to_mapping
from srbench.data.datasets import dataset_fingerprint, dataset_id, resolve_dataset
from srbench.eval.device import cuda_identity, describe_device
from srbench.eval.environment import measurement_environment
from srbench.eval.weights import ResolvedWeights
from srbench.models import input_range, model_code, model_info
from srbench.runtime_choice import RuntimeUse
from srbench.track import schema, tags as T, tracking
from srbench.track.cell_log import run_tags
from srbench.track.networks import Network
from srbench.track.cells import code_version
from srbench.track.experiment import Experiment, ModelEntry, cell_bn_modes, entry_runtimes
from srbench.track.metric_plan import cell_metrics, lpips_datasets
from srbench.track.run_weights import weights_per_scale


@dataclass
class CellOutcome:
    """What happened to one cell: computed now, reused from an earlier run, or skipped (with the reason)."""

    label: str
    scale: int
    bn_mode: str
    status: str
    run_id: str | None = None
    metrics: dict = field(default_factory=dict)
    note: str = ""


@dataclass
class Cell:
    entry: ModelEntry
    weights: ResolvedWeights
    scale: int
    bn_mode: str
    datasets: list[str]
    metrics: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per dataset (srbench.track.metric_plan)
    runtime: str = "auto"  # as requested: auto or a runtime
    compare: bool = False  # one of an entry's several runtimes (a runtime comparison)

    @property
    def net(self) -> Network:
        """The network it measures (:class:`srbench.track.stored_choices.Network`)."""
        return Network(self.entry.model, self.weights, self.entry.group, self.entry.weights_key, self.entry.inference)

    @property
    def network(self) -> tuple:
        """The network it measures, by content (never by name): model, weights sha256, group, checkpoint key and
        inference knobs."""
        return self.net.identity

    @property
    def shard_unit(self) -> tuple:
        """What must stay on one shard: every cell of this model's weights at this scale. Cells sharing a forward
        pass or an ``auto`` choice agree on it whatever BN mode the network actually runs in (a network without
        BatchNorm runs both modes as one) and whatever its inference knobs (auto's choice is keyed by weights)."""
        return (self.entry.model, self.weights.sha256, self.scale)


def plan(exp: Experiment) -> tuple[list[Cell], list[CellOutcome]]:
    """Resolve every entry's weights and expand the cells; optional entries without weights become skip notes.

    Everything that can fail on bad input (unknown model, missing weights or dataset) fails here, before any work.
    """
    cells, skipped = [], []
    for entry in exp.models:
        model_info(entry.model)  # unknown model -> closest match; an external builder is imported (and checked)
        datasets = entry.datasets if entry.datasets is not None else exp.datasets
        scales = entry.scales if entry.scales is not None else exp.scales
        if not datasets or not scales:
            continue
        try:
            per_scale, notes = weights_per_scale(entry.weights, entry.model, scales)
        except SrbenchError as exc:
            if not entry.optional:
                raise
            skipped.append(CellOutcome(entry.display, 0, "-", "skipped", note=str(exc)))
            continue
        skipped.extend(CellOutcome(entry.display, scale, "-", "skipped", note=note) for scale, note in notes.items())
        for name in datasets:
            resolve_dataset(name)  # missing dataset -> SrbenchError before any work
            key = dataset_id(name)  # a key MLflow rejects -> SrbenchError now, not after the dataset is scored
            tracking.check_keys([*(schema.dataset_metric(w, key, "rgb") for w in schema.PER_DATASET),
                                 T.dataset_fingerprint(key)], f"dataset {name}")
        for scale, weights in per_scale.items():
            if scale not in weights.scales:
                skipped.append(CellOutcome(entry.display, scale, "-", "skipped",
                                           note=f"weights {weights.name} have no x{scale} head"))
                continue
            metrics = cell_metrics(entry.metrics if entry.metrics is not None else exp.metrics, datasets, scale,
                                   entry.protocol or exp.protocol)
            runtimes = entry_runtimes(entry, exp)
            modes, same = cell_bn_modes(entry, scale)
            skipped.extend(CellOutcome(entry.display, scale, m, "skipped", note=note) for m, note in same.items())
            for bn_mode in modes:
                for runtime in runtimes:
                    cells.append(Cell(entry, weights, scale, bn_mode, list(datasets), metrics, runtime,
                                      len(runtimes) > 1))
    return by_network(cells), skipped


def by_network(cells: list[Cell]) -> list[Cell]:
    """The cells in declared order, but each network's cells together (networks in order of first appearance), and
    within a network each runtime group's (scale, BN mode, runtime) together (groups in order of first appearance),
    so each network is built once, each group's prepared runtime is kept only while its cells run
    (:class:`~srbench.runtime_choice.CellRuntimes`), and the cells that differ only in protocol run while their
    shared passes are held (:mod:`srbench.eval.shared_passes`)."""
    first: dict[tuple, int] = {}
    for i, cell in enumerate(cells):
        first.setdefault(cell.network, i)
        first.setdefault((cell.network, cell.scale, cell.bn_mode, cell.runtime), i)
    return sorted(cells, key=lambda cell: (first[cell.network],  # stable: declared order within a group
                                           first[(cell.network, cell.scale, cell.bn_mode, cell.runtime)]))


class Fingerprints:
    """``dataset_fingerprint`` computed once per (dataset, scale, LR source) for one invocation (the key and the
    tags of every cell need it; hashing a dataset's file list again per cell is waste)."""

    def __init__(self) -> None:
        self._done: dict[tuple, str] = {}

    def __call__(self, dataset: str, scale: int, lr_source: str = "file") -> str:
        key = (str(dataset), int(scale), lr_source)
        if key not in self._done:
            self._done[key] = dataset_fingerprint(dataset, scale, lr_source)
        return self._done[key]


def cell_identity(cell: Cell, protocol, device: torch.device, exp: Experiment, use: RuntimeUse | None = None,
              fingerprint=dataset_fingerprint) -> dict:
    return {
        "model": cell.entry.model, "group": cell.entry.group, "build": cell.weights.build,
        "weights": cell.weights.name,
        "weights_sha256": cell.weights.sha256, "scale": cell.scale,
        "protocol": protocol.identity(device.type),
        "input_range": input_range(cell.entry.model, cell.weights.build),
        "datasets": {d: fingerprint(d, cell.scale, protocol.lr_input) for d in cell.datasets},
        "runtime": use.identity() if use is not None else {"name": "eager"},
        "measure": to_mapping(exp.measure), "device": describe_device(device), "code": code_version(),
        "environment": measurement_environment(),
        "crops": sorted(f"{c['dataset']}/{c['image']}" for c in exp.crops
                        if c.get("scale") == cell.scale and c.get("dataset") in cell.datasets),
        **_extra_identity(cell.entry),
        **({"cuda": cuda_identity(device)} if device.type == "cuda" else {}),  # CPU cells keep their keys
        "metrics": cell.metrics,
    }


def _extra_identity(entry: ModelEntry) -> dict:
    """Identity parts that exist only where they are used (so other cells keep their keys): an external model's code
    hash, an explicit checkpoint key, the inference knobs."""
    extra = {"model_code": model_code(entry.model), "weights_key": entry.weights_key,
             "inference": entry.inference.as_dict()}
    return {k: v for k, v in extra.items() if v}


def _extra_tags(entry: ModelEntry) -> dict[str, str]:
    """Tags of the external model, checkpoint key and inference knobs (see :func:`_extra_identity`)."""
    inference = entry.inference
    tags = {T.ENSEMBLE: inference.ensemble or "none", T.TILE: str(inference.tile or "none"),
            T.INFERENCE: inference.suffix}
    if inference.tile:
        tags[T.TILE_OVERLAP] = str(inference.tile_overlap)
    if entry.weights_key:
        tags[T.WEIGHTS_KEY] = entry.weights_key
    code = model_code(entry.model)
    if code:
        tags[T.MODEL_CODE] = code
    return tags


def cell_tags(cell: Cell, protocol, device: torch.device, *, key: str, parent_id: str, use: RuntimeUse | None = None,
              fingerprint=dataset_fingerprint) -> dict[str, str]:
    """The tags of a cell's run (:mod:`srbench.track.tags`): what it measures, the environment, every protocol knob,
    the dataset fingerprints and the runtime that ran it."""
    return {
        "mlflow.parentRunId": parent_id, T.KIND: T.KIND_CELL, T.CELL_KEY: key,
        T.MODEL: cell.entry.model, T.ARCH: cell.entry.model, T.LABEL: cell.entry.display,
        T.WEIGHTS: cell.weights.name, T.WEIGHTS_SHA256: cell.weights.sha256,
        T.WEIGHTS_SOURCE: cell.weights.source, T.SCALE: str(cell.scale),
        T.BN_MODE: cell.bn_mode, T.DATASETS: ",".join(cell.datasets), **run_tags(device, protocol),
        T.INPUT_RANGE: f"{input_range(cell.entry.model, cell.weights.build):g}",
        **_extra_tags(cell.entry),
        **{T.dataset_fingerprint(dataset_id(d)): fingerprint(d, cell.scale, protocol.lr_input) for d in cell.datasets},
        T.LPIPS_DATASETS: ",".join(dataset_id(d) for d in sorted(lpips_datasets(cell.metrics))),
        **(use.tags() if use is not None else {}), **({T.RUNTIME_COMPARE: "1"} if cell.compare else {}),
    }


def cell_params(cell: Cell, protocol, use: RuntimeUse | None = None) -> dict:
    """The params of a cell's run."""
    return {"model": cell.entry.model, "weights": cell.weights.name, "scale": cell.scale,
            "group": cell.entry.group or cell.weights.build.get("group"), "protocol": protocol.name,
            "bn_mode": cell.bn_mode, "runtime": use.runtime if use is not None else "eager",
            "input_range": f"{input_range(cell.entry.model, cell.weights.build):g}",
            **cell.entry.inference.as_dict()}
