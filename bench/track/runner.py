"""The benchmark runner: every declared cell evaluated, measured and logged to MLflow, resumably.

A cell is (model entry, BN mode, scale) over the entry's datasets. The cells run network by network
(:func:`by_network`): each network is built once for all its entries, scales and BN modes, and the cells that differ
only in protocol measure one set of forward passes and one latency/memory measurement
(:mod:`srbench.eval.shared_passes`; a network without BatchNorm runs one pass for both BN modes). A cell whose key (see :mod:`srbench.track.cells`) already has a FINISHED run in the
MLflow experiment is reused, not recomputed (``force=True`` recomputes). A cell run is marked FINISHED only after all
of its metrics and artifacts are logged, so an interrupted benchmark never leaves a run that reads as complete; its
leftovers (a FAILED/KILLED run, or a RUNNING run whose process on this host is gone) are deleted by the next
invocation before the cell is redone, so every cell is present exactly once. Benchmarks running at once on one
store claim a cell before computing it (:mod:`srbench.track.claims`) and re-check for a FINISHED run once they hold
the claim, so no cell is computed twice: a cell another process holds is left for a second pass, which waits for the
claim and then reuses that process's run.

Each cell runs on one inference runtime (:mod:`srbench.track.cell_runtimes`: ``auto`` or the declared one, decided
once per network, BN mode and scale); the runtime that ran is part of the cell key and its tags. ``shard=(K, N)``
runs the K-th of N parts of the cells (:mod:`srbench.track.shard`), so N processes can fill one tracking server.
"""

from __future__ import annotations

import csv
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from tqdm.auto import tqdm

from srbench.track import tracking
from srbench.track import hosts, orphans
from srbench.track.claims import CellClaims
from srbench.runtime_choice import CellRuntimes
from srbench.track.cell_runtimes import stored_choices
from srbench.track.cells import cell_key, code_version
from srbench.track.shard import shard_cells
from srbench.track.store_sharing import check_shard_uri, check_shard_writers, other_machines
from srbench.eval.device import cuda_identity, describe_device, resolve_device
from srbench.eval.environment import measurement_environment
from srbench.core.errors import SrbenchError
from srbench.eval.cell import CostSettings, measure_cell
from srbench.eval.evaluate import DatasetResult
from srbench.eval.protocol import get_protocol
from srbench.eval.runtimes import RuntimeDeclined
from srbench.runtime_choice import RuntimeUse, declined_error
from srbench.eval.shared_passes import PassScope, SharedPasses
from srbench.eval.weights import ResolvedWeights, load_eval_model, network_digest
from srbench.models import has_batchnorm, input_range, model_code, model_info
from srbench.track import schema
from srbench.track.experiment import Experiment, ModelEntry, cell_bn_modes, entry_runtimes
from srbench.track.experiment import score_tags
from srbench.track.logged_models import link_cell_runs
from srbench.track.metric_plan import cell_metrics, lpips_datasets
from srbench.track.ui_meta import cell_run_name, dataset_inputs
from srbench.track.run_weights import weights_per_scale
from srbench.core.strict import to_mapping
from srbench.data.datasets import dataset_fingerprint, dataset_id, resolve_dataset
from srbench.track.crops import log_crop


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
    def network(self) -> tuple:
        """The network it measures, by content (never by name): model, weights sha256, group, checkpoint key and
        inference knobs."""
        return (self.entry.model, self.weights.sha256, self.entry.group, self.entry.weights_key, self.entry.inference)

    @property
    def shard_group(self) -> tuple:
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
                                 f"srbench.dataset_fingerprint.{key}"], f"dataset {name}")
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
    """The cells in declared order, but each network's cells together (networks in order of first appearance), so
    each network is built once and the cells that differ only in protocol run while their shared passes are held
    (:mod:`srbench.eval.shared_passes`)."""
    first: dict[tuple, int] = {}
    for i, cell in enumerate(cells):
        first.setdefault(cell.network, i)
    return sorted(cells, key=lambda cell: first[cell.network])  # stable: declared order within a network


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


def _identity(cell: Cell, protocol, device: torch.device, exp: Experiment, use: RuntimeUse | None = None,
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
    tags = {"srbench.ensemble": inference.ensemble or "none", "srbench.tile": str(inference.tile or "none"),
            schema.INFERENCE_TAG: inference.suffix}
    if inference.tile:
        tags["srbench.tile_overlap"] = str(inference.tile_overlap)
    if entry.weights_key:
        tags["srbench.weights_key"] = entry.weights_key
    code = model_code(entry.model)
    if code:
        tags["srbench.model_code"] = code
    return tags


@tracking.retrying
def _existing_runs(client, experiment_ids: list[str], key: str):
    return client.search_runs(experiment_ids, filter_string=f"tags.`srbench.cell_key` = '{key}'",
                              order_by=["attributes.start_time DESC"])


@tracking.retrying
def store_experiment_ids(client) -> list[str]:
    """Every active experiment of the store: a cell's key names everything that can change its numbers (not the
    experiment that declared it), so a cell another experiment already finished is reused, not run again (the field's
    ``zoo`` shares its bicubic, CARN-M, ECDN and ECDN-M cells with the default benchmark)."""
    return [e.experiment_id for e in client.search_experiments()]


def _finished_or_clean(client, experiment_id: str | list[str], key: str):
    """The newest FINISHED run of this cell in the experiment (or any of the experiments), after deleting stale
    unfinished runs of it; None if there is none."""
    finished = None
    ids = [experiment_id] if isinstance(experiment_id, str) else experiment_id
    for run in _existing_runs(client, ids, key):
        status = run.info.status
        if status == "FINISHED":
            finished = finished or run
            continue
        if status in ("FAILED", "KILLED") or hosts.process_gone(run.data.tags):
            tracking.retrying(client.delete_run)(run.info.run_id)
    return finished


def mark_orphans_killed(client, experiment_id: str, watch: orphans.Watch | None = None) -> int:
    """Mark KILLED the RUNNING runs of this experiment whose process is gone (:func:`srbench.track.orphans.reap`);
    returns how many. Readers ignore them anyway (FINISHED only), but the MLflow UI would show them running."""
    return orphans.reap(client, experiment_id, watch or orphans.Watch())


def _log_per_image(client, run_id: str, result: DatasetResult, dataset_key: str, workdir: Path) -> None:
    path = workdir / f"{dataset_key}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "psnr", "ssim", "forward_s", "gray", "lpips", "shared"])
        for r in result.images:
            writer.writerow([r.name, f"{r.psnr:.6f}", f"{r.ssim:.8f}", f"{r.forward_s:.6f}", int(r.gray),
                             "" if r.lpips is None else f"{r.lpips:.8f}", int(r.shared)])
    tracking.retrying(client.log_artifact)(run_id, str(path), "per_image")


def _metrics_batch(values: dict[str, float]):
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, 0) for k, v in values.items()]


def dataset_values(result: DatasetResult, dataset_key: str, color: str) -> dict[str, float]:
    """The per-dataset metrics of one result, named by :mod:`srbench.track.schema` (``lpips`` where measured)."""
    values = {schema.dataset_metric("psnr", dataset_key, color): result.psnr,
              schema.dataset_metric("ssim", dataset_key, color): result.ssim,
              schema.dataset_metric("n_images", dataset_key): len(result.images),
              schema.dataset_metric("forward_s", dataset_key): result.forward_s}
    if result.lpips is not None:
        values[schema.dataset_metric("lpips", dataset_key)] = result.lpips
    return values


def measure_and_log(model: torch.nn.Module, *, client, run_id: str, datasets: list[str], scale: int, protocol,
                    device: torch.device, measure: CostSettings, crops: dict[tuple[str, str], list] | None = None,
                    lpips: frozenset[str] = frozenset(), progress: bool = True, runner=None,
                    passes: PassScope | None = None) -> dict[str, float]:
    """Measure a cell (:func:`srbench.eval.cell.measure_cell`) and log everything to run ``run_id`` as it arrives.

    ``lpips``: the datasets (as named in ``datasets``) on which LPIPS is measured too. Logs the per-dataset metrics as
    each dataset finishes, per-image CSV artifacts, the crops named in ``crops`` ((Set, image) -> its boxes
    [top, left, h, w]: :func:`srbench.track.crops.log_crop`), then the cost figures and the ``srbench.measure_out``
    tag. The caller marks the run finished. ``runner``: the prepared runtime that runs the forward passes (default: the model). ``passes``:
    the passes this cell shares with others of the invocation (:mod:`srbench.eval.shared_passes`); the runs that
    computed what it reused are named in the ``srbench.shared_from`` tag. Shared by the benchmark cells and the
    ablation points.
    """
    log_batch = tracking.retrying(client.log_batch)
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)

        def on_dataset(result: DatasetResult) -> None:
            key = dataset_id(result.dataset)
            values = dataset_values(result, key, protocol.color)
            metrics.update(values)
            log_batch(run_id, metrics=_metrics_batch(values))
            _log_per_image(client, run_id, result, key, workdir)

        def keep_crop(dataset: str, name: str, sr) -> None:
            boxes = crops.get((dataset_id(dataset), name))
            if boxes is not None:  # SR and HR images, the boxes' Y PSNR/SSIM (names: srbench.track.schema)
                log_crop(client, run_id, workdir, dataset=dataset, image=name, scale=scale, sr=sr, boxes=boxes)

        measured = measure_cell(model, datasets=datasets, scale=scale, protocol=protocol, device=device,
                                settings=measure, progress=progress, lpips=lpips, on_dataset=on_dataset,
                                on_image=keep_crop if crops else None, runner=runner, passes=passes)
    log_batch(run_id, metrics=_metrics_batch(measured.cost))
    tracking.retrying(client.set_tag)(run_id, schema.MEASURE_OUT_TAG, measured.out_label)
    tracking.retrying(client.set_tag)(run_id, schema.PROFILE_IN_TAG, measured.profile_label)
    if measured.runtime_form:
        tracking.retrying(client.set_tag)(run_id, schema.RUNTIME_FORM_TAG, measured.runtime_form)
    if measured.latency_clock:  # wall: host work (bicubic's numpy) even on a GPU; cuda_events: GPU work
        tracking.retrying(client.set_tag)(run_id, schema.LATENCY_CLOCK_TAG, measured.latency_clock)
    if passes is not None and passes.sources:
        tracking.retrying(client.set_tag)(run_id, schema.SHARED_FROM_TAG, ",".join(sorted(passes.sources)))
    return {**metrics, **measured.cost}


def run_tags(device: torch.device, protocol) -> dict[str, str]:
    """Tags every measured run carries: environment, code and every protocol knob."""
    return {"srbench.device": device.type, "srbench.device_name": describe_device(device),
            "srbench.threads": str(torch.get_num_threads()), "srbench.torch": torch.__version__,
            "srbench.git_commit": tracking.git_commit(), "srbench.code_version": code_version(),
            **hosts.identity_tags(),
            **{f"srbench.env.{k}": v for k, v in measurement_environment().items()},
            **{f"srbench.cuda.{k}": v for k, v in cuda_identity(device).items()},
            **{f"protocol.{k}": str(v) for k, v in protocol.as_dict().items()}}


def _run_cell(cell: Cell, model: torch.nn.Module, exp: Experiment, protocol, device, client, experiment_id: str,
              parent_id: str, key: str, progress: bool, use: RuntimeUse | None = None,
              fingerprint=dataset_fingerprint, passes: SharedPasses | None = None,
              pass_key: tuple | None = None) -> CellOutcome:
    from mlflow.entities import Param

    tags = {
        "mlflow.parentRunId": parent_id, "srbench.kind": "cell", "srbench.cell_key": key,
        "srbench.model": cell.entry.model, "srbench.arch": cell.entry.model, "srbench.label": cell.entry.display,
        "srbench.weights": cell.weights.name, "srbench.weights_sha256": cell.weights.sha256,
        "srbench.weights_source": cell.weights.source, "srbench.scale": str(cell.scale),
        "srbench.bn_mode": cell.bn_mode, "srbench.datasets": ",".join(cell.datasets), **run_tags(device, protocol),
        schema.INPUT_RANGE_TAG: f"{input_range(cell.entry.model, cell.weights.build):g}",
        **_extra_tags(cell.entry),
        **{f"srbench.dataset_fingerprint.{dataset_id(d)}": fingerprint(d, cell.scale, protocol.lr_input)
           for d in cell.datasets},
        "srbench.lpips_datasets": ",".join(dataset_id(d) for d in sorted(lpips_datasets(cell.metrics))),
        **(use.tags() if use is not None else {}), **({"srbench.runtime_compare": "1"} if cell.compare else {}),
    }
    run = tracking.retrying(client.create_run)(experiment_id, tags=tags, run_name=cell_run_name(
        cell.entry.model, cell.weights.name, cell.scale, cell.bn_mode, protocol.name))
    run_id = run.info.run_id
    try:  # from the run's creation on: an interruption anywhere marks it KILLED
        tracking.retrying(client.log_inputs)(run_id, datasets=dataset_inputs(cell.datasets, cell.scale,
                                                                              protocol.lr_input))
        tracking.retrying(client.log_batch)(run_id, params=[Param(k, str(v)) for k, v in {
            "model": cell.entry.model, "weights": cell.weights.name, "scale": cell.scale,
            "group": cell.entry.group or cell.weights.build.get("group"), "protocol": protocol.name,
            "bn_mode": cell.bn_mode, "runtime": use.runtime if use is not None else "eager",
            "input_range": f"{input_range(cell.entry.model, cell.weights.build):g}",
            **cell.entry.inference.as_dict()}.items()])
        crops: dict = {}
        for c in exp.crops:  # (Set, image) -> the boxes declared at this cell's scale
            if c.get("scale") == cell.scale:
                crops.setdefault((c["dataset"], str(c["image"])), []).append(c["box"])
        metrics = measure_and_log(model, client=client, run_id=run_id, datasets=cell.datasets, scale=cell.scale,
                                  protocol=protocol, device=device, measure=exp.measure, crops=crops,
                                  lpips=lpips_datasets(cell.metrics), progress=progress,
                                  runner=use.runner if use is not None else None,
                                  passes=passes.scope(pass_key, run_id) if passes is not None else None)
        tracking.retrying(client.set_terminated)(run_id, "FINISHED")
    except BaseException as exc:
        tracking.retrying(client.set_terminated)(run_id, "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    return CellOutcome(cell.entry.display, cell.scale, cell.bn_mode, "computed", run_id, metrics)


def _start_parent(client, experiment_id: str, exp: Experiment, experiment_file: str | None, device,
                  shard: tuple[int, int] | None):
    """The invocation's parent run, with the resolved experiment file as its artifact."""
    parent = tracking.retrying(client.create_run)(
        experiment_id, run_name=f"{exp.name} {time.strftime('%Y-%m-%d %H:%M')}", tags={
            "srbench.kind": "benchmark", "srbench.experiment_file": experiment_file or "",
            "srbench.git_commit": tracking.git_commit(), "srbench.device_name": describe_device(device),
            **hosts.identity_tags(), orphans.HEARTBEAT_TAG: "0",
            **({"srbench.shard": f"{shard[0]}/{shard[1]}"} if shard else {}), **score_tags(exp)})
    with tempfile.TemporaryDirectory() as tmp:
        resolved = Path(tmp) / "experiment.yaml"
        resolved.write_text(yaml.safe_dump(to_mapping(exp), sort_keys=False))
        tracking.retrying(client.log_artifact)(parent.info.run_id, str(resolved))
    return parent


def run_benchmark(exp: Experiment, *, experiment_file: str | None = None, tracking_uri: str | None = None,
                  force: bool = False, progress: bool = True, shard: tuple[int, int] | None = None,
                  runtime_cache: Path | None = None) -> list[CellOutcome]:
    """Run every cell of ``exp`` (reusing finished ones unless ``force``) and return what happened to each.

    ``shard=(K, N)``: only the K-th of N parts of the cells (:func:`srbench.track.shard.shard_cells`).
    ``runtime_cache``: where ONNX exports and auto's choices live (default the store's ``cache/runtimes``).
    """
    device = resolve_device(exp.device)
    cells, outcomes = plan(exp)
    if shard is not None:
        cells = shard_cells(cells, *shard)
        check_shard_uri(tracking.tracking_uri(tracking_uri))  # before the store is opened (or created)
    client = tracking.client(tracking_uri)
    experiment_id = tracking.get_or_create_experiment(client, exp.name)
    if shard is not None:
        check_shard_writers(client, experiment_id)
    mixed = other_machines(client, experiment_id, describe_device(device))
    if mixed:
        tqdm.write(mixed)
    watch = orphans.Watch()  # heartbeats of other hosts' benchmarks, observed from now on
    mark_orphans_killed(client, experiment_id, watch)
    parent = _start_parent(client, experiment_id, exp, experiment_file, device, shard)
    parent_id = parent.info.run_id
    heartbeat = orphans.Heartbeat(client, parent_id).start()
    built: dict[tuple, torch.nn.Module] = {}
    claims = CellClaims(client, experiment_id, owner=parent_id, watch=watch)
    started_ms = int(parent.info.start_time)
    runtimes = CellRuntimes(device, runtime_cache, say=tqdm.write, stored=stored_choices(client, experiment_id))
    fingerprint = Fingerprints()
    passes = SharedPasses()
    batchnorm: dict[tuple, bool] = {}  # per network: does its BN mode change its output?
    registered: set[int] = set()  # cells whose datasets are counted in passes' needs (released when handled)
    handled: set[int] = set()  # cells measured, reused or skipped

    def protocol_of(cell: Cell):
        return get_protocol(cell.entry.protocol or exp.protocol, bn_mode=cell.bn_mode)

    def runtime_bn(cell: Cell) -> str:
        """The BN mode the network runs in: a network without BatchNorm runs (and shares) one pass for both."""
        if cell.network not in batchnorm:
            network(cell)
        return cell.bn_mode if batchnorm[cell.network] else "eval"

    def pass_key(cell: Cell) -> tuple:
        """The computation a cell's forward passes are (srbench.eval.shared_passes): one runtime is decided per
        (network, BN mode, scale, requested runtime) in an invocation (CellRuntimes)."""
        return (cell.network, runtime_bn(cell), cell.scale, cell.runtime, str(device))

    def release(i: int, cell: Cell) -> None:
        if i in registered:
            registered.discard(i)
            for d in cell.datasets:
                passes.done(pass_key(cell), d, protocol_of(cell).lr_input)

    def reusable(done) -> bool:  # with --force, only a run made since this invocation started (by a concurrent one)
        return done is not None and (not force or done.info.start_time >= started_ms)

    def network(cell: Cell) -> torch.nn.Module:
        if cell.network not in built:
            built.clear()  # one network in memory at a time
            runtimes.forget_runners()
            passes.clear()
            entry = cell.entry
            scales = tuple(sorted({c.scale for c in cells if c.network == cell.network}))
            built[cell.network] = load_eval_model(entry.model, cell.weights, device=device, group=entry.group,
                                                  scales=scales, weights_key=entry.weights_key,
                                                  inference=entry.inference)
            batchnorm[cell.network] = has_batchnorm(built[cell.network])
            for j, other in enumerate(cells):  # the network's pending cells: what each will measure
                if other.network == cell.network and j not in handled and j not in registered:
                    registered.add(j)
                    for d in other.datasets:
                        passes.need(pass_key(other), d, protocol_of(other).lr_input)
        return built[cell.network]

    try:
        bar = tqdm(total=len(cells), desc="cells", unit="cell", disable=not progress)
        results: dict[int, CellOutcome] = {}
        pending = list(enumerate(cells))
        reuse_from = store_experiment_ids(client)
        for wait in (False, True):  # cells another process is computing are left for a second pass that waits
            deferred = []
            for i, cell in pending:
                bar.set_description(f"{cell.entry.display} x{cell.scale} bn={cell.bn_mode}")
                cell_protocol = protocol_of(cell)
                args = dict(scale=cell.scale, bn_mode=runtime_bn(cell),
                            weights_sha256=network_digest(cell.entry.model, cell.weights, cell.entry.weights_key),
                            dataset=cell.datasets[0], protocol=cell_protocol)
                try:
                    use = runtimes.use(cell.network, cell.runtime, lambda cell=cell: network(cell),
                                       label=cell.entry.display, **args)
                    key = cell_key(**_identity(cell, cell_protocol, device, exp, use, fingerprint))
                    done = _finished_or_clean(client, reuse_from, key)
                    if not reusable(done):
                        with claims.hold(key, wait=wait) as held:  # a claim, so that concurrent benchmarks compute
                            if not held:                            # each cell once
                                deferred.append((i, cell))
                                continue
                            done = _finished_or_clean(client, reuse_from, key)  # finished by the last holder?
                            if not reusable(done):
                                runtimes.runner(cell.network, use, network(cell), **args)
                                results[i] = _run_cell(cell, network(cell), exp, cell_protocol, device, client,
                                                       experiment_id, parent_id, key, progress, use, fingerprint,
                                                       passes, pass_key(cell))
                except RuntimeDeclined as exc:
                    if not cell.compare:  # a declared runtime that cannot serve the cell: an error (auto falls back)
                        raise declined_error(exc, network(cell), cell.scale, cell.bn_mode) from exc
                    results[i] = CellOutcome(cell.entry.display, cell.scale, cell.bn_mode, "skipped",
                                             note=f"runtime {exc.runtime}: {exc.reason}")
                if i not in results:
                    results[i] = CellOutcome(cell.entry.display, cell.scale, cell.bn_mode, "cached",
                                             done.info.run_id, dict(done.data.metrics))
                handled.add(i)
                release(i, cell)
                bar.update()
            pending = deferred
        bar.close()
        outcomes.extend(results[i] for i in sorted(results))
        link_cell_runs(client, experiment_id, [o.run_id for o in outcomes if o.run_id])  # MLflow's Models view
        mark_orphans_killed(client, experiment_id, watch)  # other hosts' dead benchmarks seen silent meanwhile
        tracking.retrying(client.set_terminated)(parent_id, "FINISHED")
    except BaseException as exc:
        tracking.retrying(client.set_terminated)(parent_id, "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    finally:
        heartbeat.stop()
    return outcomes
