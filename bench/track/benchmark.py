"""The benchmark: every declared cell evaluated, measured and logged to MLflow, resumably.

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

Each cell runs on one inference runtime (:mod:`srbench.runtime_choice`: ``auto`` or the declared one, decided
once per network, BN mode and scale); the runtime that ran is part of the cell key and its tags. ``shard=(K, N)``
runs the K-th of N parts of the cells (:mod:`srbench.track.shard`), so N processes can fill one tracking server.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
import yaml
from tqdm.auto import tqdm

from srbench.core.cache_budget import BUDGET, MIB
from srbench.core.heap import return_free_memory, return_freed_memory_at_once
from srbench.core.memory_trace import mark
from srbench.core.strict import to_mapping
from srbench.data.inputs import prepare_inputs
from srbench.eval.device import describe_device, resolve_device
from srbench.eval.protocol import get_protocol
from srbench.eval.runtimes import RuntimeDeclined
from srbench.eval.shared_passes import SharedPasses
from srbench.models import has_batchnorm
from srbench.runtime_choice import CellRuntimes, RuntimeUse, declined_error
from srbench.runtime_choice.apart import CountAt
from srbench.track import hosts, orphans, tags as T, tracking
from srbench.track.cell_log import dataset_values, measure_and_log, run_tags
from srbench.track.cell_plan import Cell, CellOutcome, Fingerprints, cell_identity, cell_params, cell_tags, plan
from srbench.track.stored_choices import stored_choices
from srbench.track.cells import cell_key
from srbench.track.claims import CellClaims
from srbench.track.experiment import Experiment, score_tags
from srbench.track.logged_models import link_cell_runs
from srbench.track.metric_plan import lpips_datasets
from srbench.track.run_writer import RunWriter, finished_or_clean
from srbench.track.run_writer import store_experiment_ids
from srbench.track.schema import CHOOSE_S, INPUTS_S, PREPARE_S
from srbench.track.shard import shard_cells
from srbench.track.store_sharing import check_shard_uri, check_shard_writers, other_machines
from srbench.track.ui_meta import cell_run_name, dataset_inputs

__all__ = ["Benchmark", "Cell", "CellOutcome", "dataset_values", "mark_orphans_killed", "measure_and_log", "plan",
           "run_benchmark", "run_tags"]


def mark_orphans_killed(client, experiment_id: str, watch: orphans.Watch | None = None) -> int:
    """Mark KILLED the RUNNING runs of this experiment whose process is gone (:func:`srbench.track.orphans.reap`);
    returns how many. Readers ignore them anyway (FINISHED only), but the MLflow UI would show them running."""
    return orphans.reap(client, experiment_id, watch)


def _parent_tags(exp: Experiment, experiment_file: str | None, device, shard: tuple[int, int] | None) -> dict:
    """The tags of the invocation's parent run."""
    return {T.KIND: T.KIND_BENCHMARK, T.EXPERIMENT_FILE: experiment_file or "",
            T.GIT_COMMIT: tracking.git_commit(), T.DEVICE_NAME: describe_device(device),
            T.CACHE_MB: f"{BUDGET.limit / MIB:g}",
            **hosts.identity_tags(), T.HEARTBEAT: "0",
            **({T.SHARD: f"{shard[0]}/{shard[1]}"} if shard else {}), **score_tags(exp)}


def _log_experiment(parent: RunWriter, exp: Experiment) -> None:
    """The resolved experiment file as the parent run's artifact ``experiment.yaml``."""
    with tempfile.TemporaryDirectory() as tmp:
        resolved = Path(tmp) / "experiment.yaml"
        resolved.write_text(yaml.safe_dump(to_mapping(exp), sort_keys=False))
        parent.artifact(resolved)


def _run_cell(bench: Benchmark, cell: Cell, protocol, key: str, use: RuntimeUse | None) -> CellOutcome:
    """Measure one cell into a new run, child of the invocation's parent; FINISHED once everything is logged."""
    tags = cell_tags(cell, protocol, bench.device, key=key, parent_id=bench.parent.run_id, use=use,
                     fingerprint=bench.fingerprint)
    name = cell_run_name(cell.entry.model, cell.weights.name, cell.scale, cell.bn_mode, protocol.name)
    with RunWriter.create(bench.client, bench.experiment_id, tags=tags, run_name=name) as run:
        run.inputs(datasets=dataset_inputs(cell.datasets, cell.scale, protocol.lr_input))
        run.params(cell_params(cell, protocol, use))
        crops: dict = {}
        for c in bench.exp.crops:  # (Set, image) -> the boxes declared at this cell's scale
            if c.get("scale") == cell.scale:
                crops.setdefault((c["dataset"], str(c["image"])), []).append(c["box"])
        metrics = measure_and_log(bench.network(cell), client=bench.client, run_id=run.run_id, datasets=cell.datasets,
                                  scale=cell.scale, protocol=protocol, device=bench.device, measure=bench.exp.measure,
                                  crops=crops, lpips=lpips_datasets(cell.metrics), progress=bench.progress,
                                  runner=use.runner if use is not None else None,
                                  passes=bench.passes.scope(bench.pass_key(cell), run.run_id))
    return CellOutcome(cell.entry.display, cell.scale, cell.bn_mode, "computed", run.run_id, metrics)


class Benchmark:
    """One invocation of the benchmark: its cells, the store, and the state shared while they run.

    State kept across cells: the one network in memory (:meth:`network`, built once for all its cells), whether its
    BN mode changes its output, the forward passes its cells share (:class:`~srbench.eval.shared_passes.
    SharedPasses`: a cell's datasets are *registered* as needed when its network is built and *released* once the
    cell is handled), the runtime decisions (:class:`~srbench.runtime_choice.CellRuntimes`) and the claims
    that keep concurrent benchmarks from computing a cell twice (:class:`~srbench.track.claims.CellClaims`).
    """

    def __init__(self, exp: Experiment, *, experiment_file: str | None = None, tracking_uri: str | None = None,
                 force: bool = False, progress: bool = True, shard: tuple[int, int] | None = None,
                 runtime_cache: Path | None = None) -> None:
        self.exp, self.experiment_file, self.force, self.progress = exp, experiment_file, force, progress
        self.shard, self.runtime_cache = shard, runtime_cache
        self.device = resolve_device(exp.device)
        self.cells, self.outcomes = plan(exp)
        if shard is not None:
            self.cells = shard_cells(self.cells, *shard)
            check_shard_uri(tracking.tracking_uri(tracking_uri))  # before the store is opened (or created)
        self.client = tracking.client(tracking_uri)
        self.experiment_id = tracking.get_or_create_experiment(self.client, exp.name)
        self.built: dict[tuple, torch.nn.Module] = {}
        self.batchnorm: dict[tuple, bool] = {}  # per network: does its BN mode change its output?
        self.registered: set[int] = set()  # cells whose datasets are counted in passes' needs (released when handled)
        self.handled: set[int] = set()  # cells measured, reused or skipped
        self.results: dict[int, CellOutcome] = {}
        self.fingerprint = Fingerprints()
        self.passes = SharedPasses()
        self.between = {CHOOSE_S: 0.0, PREPARE_S: 0.0, INPUTS_S: 0.0}  # seconds, logged on the invocation's run
        return_freed_memory_at_once()  # a long process of large temporaries (docs/memory.md)

    # -- the invocation --------------------------------------------------------------------------------------------
    def run(self) -> list[CellOutcome]:
        """Run every cell (reusing finished ones unless ``force``) and return what happened to each."""
        client, experiment_id = self.client, self.experiment_id
        if self.shard is not None:
            check_shard_writers(client, experiment_id)
        mixed = other_machines(client, experiment_id, describe_device(self.device))
        if mixed:
            tqdm.write(mixed)
        watch = orphans.Watch()  # heartbeats of other hosts' benchmarks, observed from now on
        mark_orphans_killed(client, experiment_id, watch)
        name = f"{self.exp.name} {time.strftime('%Y-%m-%d %H:%M')}"
        self.parent = RunWriter.create(client, experiment_id, run_name=name,
                                       tags=_parent_tags(self.exp, self.experiment_file, self.device, self.shard))
        heartbeat = orphans.Heartbeat(client, self.parent.run_id).start()
        try:
            with self.parent:
                _log_experiment(self.parent, self.exp)
                self.claims = CellClaims(client, experiment_id, owner=self.parent.run_id, watch=watch)
                self.started_ms = int(self.parent.run.info.start_time)
                mark("started")
                self.runtimes = CellRuntimes(self.device, self.runtime_cache, say=tqdm.write,
                                             stored=stored_choices(client, experiment_id),
                                             probe_apart=self.device.type == "cpu",
                                             count=CountAt(self.exp.measure.out_hw, self.exp.measure.profile_in))
                self._every_cell()
                self.parent.metrics(self.between)
                self.outcomes.extend(self.results[i] for i in sorted(self.results))
                link_cell_runs(client, experiment_id, [o.run_id for o in self.outcomes if o.run_id])  # Models view
                mark_orphans_killed(client, experiment_id, watch)  # other hosts' dead benchmarks seen silent meanwhile
        finally:
            heartbeat.stop()
        return self.outcomes

    def _prepare_inputs(self, cell: Cell, protocol) -> None:
        """The inputs of a cell about to be measured made ready before its run starts (:mod:`srbench.data.inputs`:
        on a fresh clone, Urban100's LR images and the decoded copies; later, a few file checks), timed apart."""
        start = time.perf_counter()
        prepare_inputs([(d, cell.scale, protocol.lr_input) for d in cell.datasets], progress=self.progress)
        self.between[INPUTS_S] += time.perf_counter() - start

    def _every_cell(self) -> None:
        """Each cell once; cells another process is computing are left for a second pass that waits for them."""
        bar = tqdm(total=len(self.cells), desc="cells", unit="cell", disable=not self.progress)
        pending = list(enumerate(self.cells))
        for wait in (False, True):
            deferred = []
            for i, cell in pending:
                bar.set_description(f"{cell.entry.display} x{cell.scale} bn={cell.bn_mode}")
                mark(f"{cell.entry.display} x{cell.scale} bn={cell.bn_mode} {self.protocol_of(cell).name}",
                     runtimes=self.runtimes.prepared)
                if not self._cell(i, cell, wait):
                    deferred.append((i, cell))
                    continue
                self.handled.add(i)
                self._release(i, cell)
                return_free_memory()
                bar.update()
            pending = deferred
        bar.close()
        mark("cells done", runtimes=self.runtimes.prepared)

    def _cell(self, i: int, cell: Cell, wait: bool) -> bool:
        """Reuse, measure or skip cell ``i`` into ``results``; False when another process holds its claim (and
        ``wait`` is not set)."""
        protocol = self.protocol_of(cell)
        args = dict(scale=cell.scale, bn_mode=self.runtime_bn(cell), dataset=cell.datasets[0], protocol=protocol,
                    weights_sha256=cell.net.digest)
        try:
            network = self.network(cell)  # built before the clock starts: loading weights is not choosing
            start = time.perf_counter()
            use = self.runtimes.use(cell.network, cell.runtime, lambda: network, label=cell.entry.display, **args)
            self.between[CHOOSE_S] += time.perf_counter() - start
            key = cell_key(**cell_identity(cell, protocol, self.device, self.exp, use, self.fingerprint))
            done = self._reusable(key)
            if done is None:
                with self.claims.hold(key, wait=wait) as held:  # a claim, so that concurrent benchmarks compute
                    if not held:                                # each cell once
                        return False
                    done = self._reusable(key)  # finished by the last holder?
                    if done is None:
                        start = time.perf_counter()
                        self.runtimes.runner(cell.network, use, network, **args)
                        self.between[PREPARE_S] += time.perf_counter() - start
                        return_free_memory()  # what auto's probe of three runtimes freed, before the cell
                        self._prepare_inputs(cell, protocol)
                        self.results[i] = _run_cell(self, cell, protocol, key, use)
        except RuntimeDeclined as exc:
            if not cell.compare:  # a declared runtime that cannot serve the cell: an error (auto falls back)
                raise declined_error(exc, self.network(cell), cell.scale, cell.bn_mode) from exc
            self.results[i] = CellOutcome(cell.entry.display, cell.scale, cell.bn_mode, "skipped",
                                          note=f"runtime {exc.runtime}: {exc.reason}")
        if i not in self.results:
            self.results[i] = CellOutcome(cell.entry.display, cell.scale, cell.bn_mode, "cached", done.info.run_id,
                                          dict(done.data.metrics))
        return True

    def _reusable(self, key: str):
        """The FINISHED run of ``key`` in any experiment of the store, or None; with ``force``, only a run made since
        this invocation started (by a concurrent one). The experiments are listed at every lookup: one created while
        this invocation runs (a concurrent ``make zoo`` beside ``make benchmark``) counts too."""
        done = finished_or_clean(self.client, store_experiment_ids(self.client), key)
        if done is None or (self.force and done.info.start_time < self.started_ms):
            return None
        return done

    # -- the network in memory and the passes its cells share ------------------------------------------------------
    def protocol_of(self, cell: Cell):
        return get_protocol(cell.entry.protocol or self.exp.protocol, bn_mode=cell.bn_mode)

    def runtime_bn(self, cell: Cell) -> str:
        """The BN mode the network runs in: a network without BatchNorm runs (and shares) one pass for both."""
        if cell.network not in self.batchnorm:
            self.network(cell)
        return cell.bn_mode if self.batchnorm[cell.network] else "eval"

    def pass_key(self, cell: Cell) -> tuple:
        """The computation a cell's forward passes are (srbench.eval.shared_passes): one runtime is decided per
        (network, BN mode, scale, requested runtime) in an invocation (CellRuntimes)."""
        return (cell.network, self.runtime_bn(cell), cell.scale, cell.runtime, str(self.device))

    def network(self, cell: Cell) -> torch.nn.Module:
        """The cell's network, built once for all its cells (one network in memory at a time)."""
        if cell.network not in self.built:
            self.built.clear()
            self.runtimes.forget_runners()
            self.passes.clear()
            scales = sorted({c.scale for c in self.cells if c.network == cell.network})
            self.built[cell.network] = cell.net.load(self.device, scales)
            self.batchnorm[cell.network] = has_batchnorm(self.built[cell.network])
            for j, other in enumerate(self.cells):  # the network's pending cells: what each will measure
                if other.network == cell.network and j not in self.handled and j not in self.registered:
                    self.registered.add(j)
                    for d in other.datasets:
                        protocol = self.protocol_of(other)
                        self.passes.need(self.pass_key(other), d, protocol.lr_input, quantize=protocol.quantize)
        return self.built[cell.network]

    def _release(self, i: int, cell: Cell) -> None:
        """Cell ``i`` is handled: what only it still needed is let go (its shared outputs, and its group's prepared
        runtime when no pending cell of the group is left)."""
        if i in self.registered:
            self.registered.discard(i)
            for d in cell.datasets:
                protocol = self.protocol_of(cell)
                self.passes.done(self.pass_key(cell), d, protocol.lr_input, quantize=protocol.quantize)
        if cell.network in self.batchnorm and not any(
                j not in self.handled and self.pass_key(other)[:4] == self.pass_key(cell)[:4]
                for j, other in enumerate(self.cells) if other.network == cell.network):
            self.runtimes.forget_runner(cell.network, scale=cell.scale, bn_mode=self.runtime_bn(cell),
                                        requested=cell.runtime)


def run_benchmark(exp: Experiment, *, experiment_file: str | None = None, tracking_uri: str | None = None,
                  force: bool = False, progress: bool = True, shard: tuple[int, int] | None = None,
                  runtime_cache: Path | None = None) -> list[CellOutcome]:
    """Run every cell of ``exp`` (reusing finished ones unless ``force``) and return what happened to each.

    ``shard=(K, N)``: only the K-th of N parts of the cells (:func:`srbench.track.shard.shard_cells`).
    ``runtime_cache``: where ONNX exports and auto's choices live (default the store's ``cache/runtimes``).
    """
    return Benchmark(exp, experiment_file=experiment_file, tracking_uri=tracking_uri, force=force, progress=progress,
                     shard=shard, runtime_cache=runtime_cache).run()
