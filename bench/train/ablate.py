"""Ablations as declared experiments: a grid over a base training recipe, each point trained then evaluated.

An ablation file (``experiments/ablation_*.yaml``)::

    name: ablation_group                            # MLflow experiment holding every point
    base: experiments/train/ecdn_m_x2_cpu.yaml      # the training recipe each point starts from
    gpu_base: experiments/train/ecdn_m.yaml         # used instead with `srbench ablate --gpu`
    budget: 300 steps of 16 patches 32x32 on T91, CPU  # stated in the report beside every conclusion
    gpu_budget: 600k steps, batch 64, DIV2K             # the same, for --gpu
    set: {max_steps: 300}                           # overrides applied to the base for every point (CPU budget)
    grid:                                           # the cartesian product of these lists is the sweep
      model: [ecdn_m, carn_m]
      group: [1, 2, 4, 8]
    points:                                         # and/or explicit points, appended after the grid's
      - {loss: SmoothL1, smoothl1_beta: 0.01}
    evaluate: {datasets: [Set5, Set14], scale: 2, protocol: standard}
    baseline: {group: 4}                            # tagged srbench.baseline=true: what the others are compared to
    seeds: [0, 1, 2]                                # every point trained once per seed (default: the base's seed)
    gpu_seeds: [0, 1, 2]                            # the same for --gpu (default: seeds)

A file with neither ``grid`` nor ``points`` (e.g. ``ablation_bn.yaml``) is a benchmark experiment and is run by srbench.track.benchmark.

Seeds are a dimension of the sweep, not a point: each (point, seed) is one training run with ``seed`` set (a different
initialisation and patch sampling, the same data), and the report averages a point over its seeds and compares it
with the baseline seed by seed (:mod:`srbench.report.seedstats`). ``seed`` therefore may not be swept in ``grid`` or
``points``.

Each (point, seed) is one MLflow run of the training (``srbench.kind=train``) in the ablation's experiment, with the
swept values and the seed as params (they are training config fields), tags ``srbench.sweep=<name>``,
``srbench.sweep_point`` (JSON of the swept values), ``srbench.sweep_seed``, ``srbench.point_key`` and
``srbench.budget``, and the final evaluation logged into the same run by :func:`srbench.track.cell_log.measure_and_log`
(``psnr_y.<Set>``, per-image CSVs, params, Mult-Adds; latency and memory with the first seed only, as they do not
depend on it). The tag ``srbench.point_done=1`` is written last: a run without it is not finished. Rerunning skips finished (point, seed) pairs; an interrupted one resumes its training
from its last checkpoint (``runs/<name>/<point>_seed-<n>-<key>/last.pt``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.eval.cell import CostSettings
from srbench.core.names import suggest
from srbench.core.strict import from_mapping, load_yaml


@dataclass(frozen=True)
class Evaluation:
    """How each trained point is measured."""

    datasets: list[str] = field(default_factory=lambda: ["Set5", "Set14"])
    scale: int | None = None  # default: the trained scale (x4 for multi-scale training)
    protocol: str = "standard"
    bn_mode: str = "eval"


@dataclass(frozen=True)
class Ablation:
    """A sweep over a base training recipe."""

    name: str
    base: str
    budget: str
    grid: dict = field(default_factory=dict)
    points: list[dict] = field(default_factory=list)
    gpu_base: str | None = None
    gpu_budget: str = "the papers' budget: the gpu_base recipe as written"
    set: dict = field(default_factory=dict)
    gpu_set: dict = field(default_factory=dict)
    evaluate: Evaluation = field(default_factory=Evaluation)
    measure: CostSettings = field(default_factory=lambda: CostSettings(repeats=3))
    description: str = ""
    out_root: str = "runs"  # checkpoints go to <out_root>/<name>/<point>_seed-<n>-<key>/
    baseline: dict = field(default_factory=dict)  # points matching these values are the reference of comparisons
    seeds: list[int] = field(default_factory=list)  # each point once per seed (empty: the base recipe's seed)
    gpu_seeds: list[int] | None = None              # seeds with --gpu (None: the same as seeds)

    def seeds_for(self, gpu: bool) -> list[int] | None:
        """The seeds of a run (None: the base recipe's own seed, one run per point)."""
        chosen = self.gpu_seeds if gpu and self.gpu_seeds is not None else self.seeds
        return list(chosen) or None


@dataclass
class PointOutcome:
    label: str   # the point's label, with its seed when the file declares seeds: ``group=4,seed=1``
    values: dict
    status: str  # computed | cached
    run_id: str | None
    metrics: dict = field(default_factory=dict)
    seed: int | None = None


def is_sweep(path: str | Path) -> bool:
    """True for an ablation grid file, False for a benchmark experiment file."""
    data = load_yaml(path)
    return "grid" in data or "points" in data


def load_ablation(path: str | Path) -> Ablation:
    """Read an ablation file strictly; every grid key must be a training config field."""
    from srbench.train.config import TrainConfig

    abl = from_mapping(Ablation, load_yaml(path), str(path))
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in [*abl.grid, *abl.set, *abl.gpu_set, *abl.baseline, *(k for p in abl.points for k in p)]:
        if key not in known:
            raise SrbenchError(f"{path}: {key!r} is not a training config field{suggest(key, known)}")
    from srbench.models.zoo import is_zoo

    named = [*abl.grid.get("model", []), abl.set.get("model"), abl.baseline.get("model"),
             *(p.get("model") for p in abl.points)]
    for name in named:
        if isinstance(name, str) and is_zoo(name):
            raise SrbenchError(f"{path}: model {name!r} is a released model of the field (inference-only): an "
                               "ablation trains its points, and srbench cannot train it")
    for key, values in abl.grid.items():
        if not isinstance(values, list) or not values:
            raise SrbenchError(f"{path}: grid.{key} must be a non-empty list, got {values!r}")
    if not abl.grid and not abl.points:
        raise SrbenchError(f"{path}: an ablation needs a grid or points")
    if "seed" in abl.grid or any("seed" in p for p in abl.points) or "seed" in abl.baseline:
        raise SrbenchError(f"{path}: seed is not a point of the sweep; list the seeds in `seeds: [0, 1, 2]`")
    for key in ("seeds", "gpu_seeds"):
        seeds = getattr(abl, key) or []
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in seeds) or len(set(seeds)) != len(seeds):
            raise SrbenchError(f"{path}: {key} must be distinct integers >= 0, got {seeds!r}")
    return abl


def points(abl: Ablation) -> list[dict]:
    """The grid's cartesian product, in file order, then the explicit points."""
    keys = list(abl.grid)
    grid = [dict(zip(keys, combo)) for combo in itertools.product(*(abl.grid[k] for k in keys))] if keys else []
    return grid + [dict(p) for p in abl.points]


def point_label(values: dict) -> str:
    """A file- and run-name-safe label such as ``model=ecdn_m,group=4``."""
    return ",".join(f"{k}={v}" for k, v in values.items())


def _point_config(abl: Ablation, values: dict, gpu: bool, seed: int | None):
    from srbench.train.config import load_config

    base = abl.gpu_base if gpu and abl.gpu_base else abl.base
    overrides = {**(abl.gpu_set if gpu else abl.set), **values}
    if seed is not None:
        overrides["seed"] = seed
    safe = point_label(values).replace("=", "-").replace(",", "_")
    config = load_config(base, overrides=[f"{k}={json.dumps(v)}" for k, v in overrides.items()])
    safe = f"{safe}_seed-{config.seed}"
    return dataclasses.replace(config, experiment=abl.name, name=f"{abl.name}-{safe}",
                               out_dir=str(Path(abl.out_root) / abl.name / safe))


#: Config fields that do not change what a point trains (they stay out of its key).
_NOT_IDENTITY = ("device", "out_dir", "name", "prefetch")


def _point_key(config, abl: Ablation) -> str:
    from srbench.track.cells import code_version
    from srbench.core.strict import to_mapping

    identity = {k: v for k, v in to_mapping(config).items() if k not in _NOT_IDENTITY}
    blob = json.dumps({"config": identity, "evaluate": to_mapping(abl.evaluate), "measure": to_mapping(abl.measure),
                       "code": code_version()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _finished_point(client, experiment_id: str, key: str):
    from srbench.track import tags as T
    from srbench.track.run_writer import find_runs

    runs = find_runs(client, [experiment_id], f"tags.`{T.POINT_KEY}` = '{key}' and tags.`{T.POINT_DONE}` = '1'")
    return runs[0] if runs else None


def run_ablation(abl: Ablation, *, gpu: bool = False, device: str | None = None, progress: bool = True,
                 only: list[str] | None = None) -> list[PointOutcome]:
    """Train and evaluate every (point, seed) not finished yet; return what happened to each.

    ``only``: point labels (every seed of those points) or ``<label>,seed=<n>`` (that seed only)."""
    from srbench.track import tracking

    client = tracking.client()
    experiment_id = tracking.get_or_create_experiment(client, abl.name)
    outcomes = []
    seeds = abl.seeds_for(gpu)
    for values in points(abl):
        label = point_label(values)
        for index, seed in enumerate(seeds or [None]):
            config = _point_config(abl, values, gpu, seed)
            run_label = f"{label},seed={config.seed}" if seeds else label
            if only and label not in only and run_label not in only:
                continue
            if device:
                config = dataclasses.replace(config, device=device)
            key = _point_key(config, abl)
            # the checkpoint folder carries the key: a point whose budget or recipe changed never resumes another's
            config = dataclasses.replace(config, out_dir=f"{config.out_dir}-{key[:8]}")
            done = _finished_point(client, experiment_id, key)
            if done is not None:
                outcomes.append(PointOutcome(run_label, values, "cached", done.info.run_id, dict(done.data.metrics),
                                             config.seed))
                continue
            # params, Mult-Adds, latency and memory do not depend on the seed: measured with the first seed only
            measure = abl.measure if index == 0 else dataclasses.replace(abl.measure, latency=False, memory=False)
            run_id, metrics = _run_point(abl, config, values, key, run_label, client, gpu, progress, measure)
            outcomes.append(PointOutcome(run_label, values, "computed", run_id, metrics, config.seed))
    return outcomes


def _run_point(abl: Ablation, config, values: dict, key: str, run_label: str, client, gpu: bool,
               progress: bool, measure: CostSettings) -> tuple[str, dict]:
    """Train one (point, seed) (resuming its checkpoint when there is one), evaluate it into the same run, and mark
    it done; returns (run id, metrics)."""
    import torch

    from srbench.eval.device import resolve_device
    from srbench.eval.protocol import get_protocol
    from srbench.eval.weights import prepare_model
    from srbench.models import create_model
    from srbench.track import tags as T
    from srbench.track.cell_log import measure_and_log, run_tags
    from srbench.track.run_writer import RunWriter
    from srbench.train import trainer

    protocol = get_protocol(abl.evaluate.protocol, bn_mode=abl.evaluate.bn_mode)
    resume = (Path(config.out_dir) / "last.pt").is_file()
    print(f"[{abl.name}] {run_label}: {'resuming' if resume else 'training'} ({config.max_steps} steps)")
    result = trainer.train(config, resume=resume, progress=progress)
    if result.run_id is None or result.final_weights is None:
        raise SrbenchError(f"[{abl.name}] {run_label}: training produced no final weights")
    dev = resolve_device(config.device)
    scale = abl.evaluate.scale or (config.scale or 4)
    model = prepare_model(create_model(config.model, scales=config.train_scales if config.scale == 0 else
                                       config.scale, group=config.group, weights=result.final_weights,
                                       device=str(dev)))
    is_baseline = bool(abl.baseline) and all(values.get(k, getattr(config, k)) == v for k, v in abl.baseline.items())
    run = RunWriter(client, result.run_id)  # the training run, FINISHED by the trainer: the evaluation joins it
    run.tags({T.SWEEP: abl.name, T.SWEEP_POINT: json.dumps(values, sort_keys=True), T.SWEEP_SEED: str(config.seed),
              T.POINT_KEY: key, T.BUDGET: abl.gpu_budget if gpu else abl.budget, T.BASELINE: str(is_baseline).lower(),
              T.SCALE: str(scale), T.EVAL_DATASETS: ",".join(abl.evaluate.datasets),
              **run_tags(dev, protocol)})
    metrics = measure_and_log(model, client=client, run_id=result.run_id, datasets=abl.evaluate.datasets,
                              scale=scale, protocol=protocol, device=dev, measure=measure, progress=progress)
    run.tags({T.POINT_DONE: "1"})  # last: a run without it is not finished
    del model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result.run_id, metrics
