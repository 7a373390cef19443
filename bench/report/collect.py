"""Read MLflow into tidy pandas frames, following the run schema of :mod:`srbench.track.tracking`.

Rules (the same for every table and figure):

* only runs with status FINISHED are read (RUNNING, FAILED and KILLED runs are ignored);
* cell runs (``srbench.kind=cell``) that share a ``srbench.cell_key`` are duplicates: the newest (latest start time,
  then end time, then run id) wins;
* after that, one value per *cell identity* (model, weights, group, BN mode, protocol preset, scale, dataset) is kept:
  again the newest run that measured it. This drops stale cells whose key changed (new code version) while still
  merging a run that measured only some datasets with one that measured others. Runs of a runtime comparison
  (``srbench.runtime_compare``, from ``--runtimes``) give way to the benchmark's own runs of the same identity, so
  the main tables show the runtime a plain benchmark chose; without one, the newest comparison run stands in.

Frames
------
``results``: one row per (cell run, dataset) with psnr, ssim (on the protocol's colour), n_images and the run's
identity columns. ``cells``: one row per selected cell run with the efficiency metrics, device and runtime.
``runtimes`` (:func:`runtime_frame`): one row per (identity, scale, device, runtime), the newest run, for the runtime
comparison.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from srbench.track import schema, tags as T
from srbench.models.field import family_of

DATASET_ORDER = ("Set5", "Set14", "B100", "Urban100")
MODEL_ORDER = ("bicubic", "carn", "carn_m", "ecdn", "ecdn_m")
BN_ORDER = ("eval", "batch")
IDENTITY = ["model", "weights", "group", "bn_mode", "protocol"]
EFFICIENCY = schema.COST + schema.PROFILE + (schema.RUNTIME_MEAN, schema.RUNTIME_MEDIAN, schema.RUNTIME_PEAK_MEM)


def short(run_id: str) -> str:
    """The short run id printed in tables (first 8 hex digits, as the MLflow UI shows)."""
    return run_id[:8]


def dataset_rank(name: str) -> tuple:
    return (DATASET_ORDER.index(name), "") if name in DATASET_ORDER else (len(DATASET_ORDER), name)


def model_rank(model: str) -> tuple:
    return (MODEL_ORDER.index(model), "") if model in MODEL_ORDER else (len(MODEL_ORDER), model)


def bn_rank(mode: str) -> tuple:
    return (BN_ORDER.index(mode), "") if mode in BN_ORDER else (len(BN_ORDER), mode)


def row_sort_key(model: str, weights: str, group: str, bn_mode: str, protocol: str = "") -> tuple:
    """Fixed row order of every table: known models first (bicubic, carn, carn_m, ecdn, ecdn_m), then by name."""
    return (model_rank(model), weights != model, weights, group, bn_rank(bn_mode), protocol)


def _none(value) -> str:
    return "" if value is None or str(value) in ("None", "none", "null") else str(value)


def row_label(model: str, weights: str, bn_mode: str, label: str = "", group: str = "") -> str:
    """Row label: the experiment's label (``srbench.label``), else ``model (weights)``; the BN mode is appended when
    it is not eval, and full MLflow run ids in ``run:<id>`` weights are shortened. (``group`` is part of a row's
    identity but not of its label: the experiment's label should name a non-default group.)"""
    if not label:
        label = model if not weights or weights == model else f"{model} ({weights})"
    if bn_mode and bn_mode != "eval":
        label += f" [BN {bn_mode}]"
    return _RUN_ID.sub(lambda m: m.group(1) + m.group(2)[:8], label)


_RUN_ID = re.compile(r"(run:)([0-9a-f]{32})\b")


@dataclass
class Store:
    """An MLflow store opened read-only for reporting, with a cache of downloaded artifacts."""

    uri: str | None = None
    _client: object = None
    _tmp: Path | None = None
    _cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        from srbench.track.tracking import client, tracking_uri
        self.uri = tracking_uri(self.uri)
        self._client = client(self.uri, write=False)  # reading only: a read-only store will do

    @property
    def client(self):
        return self._client

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def experiment_id(self, name: str) -> str | None:
        """The id of an active experiment, or None when it does not exist (or was deleted)."""
        exp = self._client.get_experiment_by_name(name)
        if exp is None or exp.lifecycle_stage != "active":
            return None
        return exp.experiment_id

    def finished_runs(self, experiment_id: str, kind: str | None = None) -> list:
        """Every FINISHED run of an experiment (optionally with ``srbench.kind=kind``), all pages."""
        filt = "attributes.status = 'FINISHED'"
        if kind:
            filt += f" and tags.`{T.KIND}` = '{kind}'"
        runs, token = [], None
        while True:
            page = self._client.search_runs([experiment_id], filter_string=filt, max_results=1000, page_token=token,
                                            order_by=["attributes.start_time ASC"])
            runs.extend(r for r in page if r.info.status == "FINISHED")
            token = page.token
            if not token:
                break
        return runs

    def get_run(self, run_id: str):
        """A run by id, or None when it does not exist."""
        try:
            return self._client.get_run(run_id)
        except Exception:  # MlflowException RESOURCE_DOES_NOT_EXIST
            return None

    def artifact(self, run_id: str, path: str) -> Path | None:
        """Download one artifact file of a run (cached); None when the run has no such artifact."""
        key = (run_id, path)
        if key in self._cache:
            return self._cache[key]
        parent = str(Path(path).parent).replace("\\", "/")
        try:
            listing = self._client.list_artifacts(run_id, None if parent == "." else parent)
        except Exception:
            listing = []
        if not any(f.path == path and not f.is_dir for f in listing):
            self._cache[key] = None
            return None
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="srbench-report-"))
        # one folder per artifact folder: MLflow may write a downloaded file under its base name only, and two
        # artifacts of one run with one name (crops/Set5/baby_x4.png, crops/Set5/hr/baby_x4.png) must not collide
        dst = self._tmp / run_id / parent
        dst.mkdir(parents=True, exist_ok=True)
        local = Path(self._client.download_artifacts(run_id, path, str(dst)))
        self._cache[key] = local
        return local

    def per_image(self, run_id: str, dataset: str) -> pd.DataFrame | None:
        """The run's ``per_image/<dataset>.csv`` (name, psnr, ssim, ...), sorted by name; None when absent."""
        key = (run_id, f"per_image/{dataset}.csv", "frame")
        if key not in self._cache:
            path = self.artifact(run_id, f"per_image/{dataset}.csv")
            frame = None
            if path is not None:
                frame = pd.read_csv(path, dtype={"name": str})
                frame = frame.sort_values("name").reset_index(drop=True)
            self._cache[key] = frame
        return self._cache[key]

    def metric_history(self, run_id: str, key: str) -> pd.DataFrame:
        """A metric's history as a frame (step, value), sorted by step then timestamp."""
        hist = self._client.get_metric_history(run_id, key)
        frame = pd.DataFrame([(m.step, m.timestamp, m.value) for m in hist], columns=["step", "timestamp", "value"])
        return frame.sort_values(["step", "timestamp"]).reset_index(drop=True)


def _newest_first(runs: list) -> list:
    return sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.end_time or 0, r.info.run_id), reverse=True)


def dedupe_by_cell_key(runs: list) -> list:
    """Keep the newest FINISHED run per ``srbench.cell_key`` (runs without a key are kept as they are)."""
    seen, kept = set(), []
    for run in _newest_first(runs):
        if run.info.status != "FINISHED":
            continue
        key = run.data.tags.get(T.CELL_KEY)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        kept.append(run)
    return kept


def _run_row(run) -> dict:
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    model = _none(tags.get(T.MODEL) or params.get("model"))
    model += tags.get(schema.INFERENCE_TAG, "")  # carn_m+ (self-ensemble) is a row of its own, never carn_m's
    weights = _none(tags.get(T.WEIGHTS) or params.get("weights"))
    weights = family_of(weights) or weights  # a field model's per-scale files (imdn_x2, imdn_x3...) are one row
    group = _none(params.get("group"))
    bn_mode = _none(tags.get(T.BN_MODE) or params.get("bn_mode")) or "eval"
    protocol = _none(tags.get("protocol.name") or params.get("protocol")) or "standard"
    row = {
        "run_id": run.info.run_id,
        "short": short(run.info.run_id),
        "parent": tags.get("mlflow.parentRunId", ""),
        "cell_key": tags.get(T.CELL_KEY, ""),
        "model": model,
        "weights": weights,
        "group": group,
        "bn_mode": bn_mode,
        "protocol": protocol,
        "scale": int(float(tags.get(T.SCALE) or params.get("scale") or 0)),
        "label": row_label(model, weights, bn_mode, _none(tags.get(T.LABEL)), group),
        "color": _none(tags.get("protocol.color")) or "y",
        "gray": _none(tags.get("protocol.gray")) or "replicate",
        "double_scale": str(tags.get("protocol.double_scale", "")).lower() == "true",
        "lpips_input": _none(tags.get("protocol.lpips_input")),
        "device": _none(tags.get(T.DEVICE)),
        "device_name": _none(tags.get(T.DEVICE_NAME)) or _none(tags.get(T.DEVICE)),
        "runtime": _none(tags.get(T.RUNTIME)) or "eager",  # runs from before runtimes were eager
        "runtime_compare": tags.get(T.RUNTIME_COMPARE) == "1",
        "measure_out": schema.measure_out_label(tags),
        "threads": _none(tags.get(T.THREADS)),
        "profile_in": _none(tags.get(schema.PROFILE_IN_TAG)),
        "runtime_form": _none(tags.get(schema.RUNTIME_FORM_TAG)),
        "start_time": int(run.info.start_time or 0),
        "end_time": int(run.info.end_time or 0),
    }
    for name in EFFICIENCY:
        row[name] = metrics.get(name)
    return row


def cell_frames(runs: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results, cells) from cell runs, after newest-wins selection (see the module docstring)."""
    runs = dedupe_by_cell_key(runs)
    rows = []
    for run in runs:
        base = _run_row(run)
        per_dataset: dict[str, dict] = {}
        for key, value in run.data.metrics.items():
            parsed = schema.parse_dataset_metric(key)
            if not parsed:
                continue
            what, color, dataset = parsed
            entry = per_dataset.setdefault(dataset, {})
            if what in ("psnr", "ssim"):
                entry[what] = value
                entry["metric_color"] = color or base["color"]
            else:
                entry[what] = value
        for dataset, entry in per_dataset.items():
            if "psnr" in entry:
                rows.append({**base, "dataset": dataset, **entry})
    results = pd.DataFrame(rows)
    if results.empty:
        return results, pd.DataFrame()
    for col in ("ssim", "n_images", "forward_s", "lpips"):
        if col not in results:
            results[col] = float("nan")
    # newest run per (identity, scale, dataset), a runtime comparison's runs last
    order = ["runtime_compare", "start_time", "end_time", "run_id"]
    results = results.sort_values(order, ascending=[True, False, False, False])
    results = results.drop_duplicates(IDENTITY + ["scale", "dataset"], keep="first")
    results = sort_frame(results)
    selected = set(results["run_id"])
    cells = pd.DataFrame([_run_row(r) for r in runs if r.info.run_id in selected])
    cells = cells.sort_values(order, ascending=[True, False, False, False])
    cells = cells.drop_duplicates(IDENTITY + ["scale"], keep="first")
    return results.reset_index(drop=True), sort_frame(cells).reset_index(drop=True)


def runtime_frame(runs: list) -> pd.DataFrame:
    """One row per (identity, scale, device, runtime) with its latency: the newest FINISHED cell run of each, for
    the runtime comparison (every runtime a cell was measured on, comparison runs included)."""
    rows = [_run_row(r) for r in dedupe_by_cell_key(runs)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.sort_values(["start_time", "end_time", "run_id"], ascending=False)
    frame = frame.drop_duplicates(IDENTITY + ["scale", "device_name", "runtime"], keep="first")
    return sort_frame(frame).reset_index(drop=True)


def sort_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in the reports' fixed order: model, weights, group, BN mode, protocol, scale, dataset."""
    if frame.empty:
        return frame

    def key(row):
        k = row_sort_key(row["model"], row["weights"], row["group"], row["bn_mode"], row["protocol"])
        return k + (row.get("scale", 0), dataset_rank(row["dataset"]) if "dataset" in row else ())

    order = sorted(range(len(frame)), key=lambda i: key(frame.iloc[i]))
    return frame.iloc[order]


@dataclass
class Benchmark:
    """One experiment's cell runs: the selected results and cells, plus how many runs were read."""

    name: str
    results: pd.DataFrame
    cells: pd.DataFrame
    n_finished: int
    parents: list[str]
    runtimes: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: (run id, dataset) -> the run's ``per_image/<dataset>.csv`` as a frame (None where the run logged none), for
    #: every row of ``results``
    per_image: dict = field(default_factory=dict)
    #: weights name -> its training time as the tables print it (:func:`training_time`), for every row of ``results``
    training_times: dict = field(default_factory=dict)
    #: run id -> the crop scores it logged (metrics ``crop.*``, :mod:`srbench.track.schema`), runs that logged some
    crop_metrics: dict = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.results.empty

    def per_image_of(self, run_id: str, dataset: str) -> pd.DataFrame | None:
        """The per-image values a results row's run logged on ``dataset`` (None when it logged none)."""
        return self.per_image.get((run_id, dataset))


def read_benchmark(store: Store, name: str) -> Benchmark | None:
    """The cell runs of experiment ``name``; None when the experiment does not exist."""
    exp_id = store.experiment_id(name)
    if exp_id is None:
        return None
    runs = store.finished_runs(exp_id, kind="cell")
    results, cells = cell_frames(runs)
    parents = sorted({p for p in (cells["parent"] if not cells.empty else []) if p})
    pairs = [] if results.empty else list(zip(results["run_id"], results["dataset"]))
    weights = [] if results.empty else sorted(set(results["weights"]))
    return Benchmark(name=name, results=results, cells=cells, n_finished=len(runs), parents=parents,
                     runtimes=runtime_frame(runs), per_image={p: store.per_image(*p) for p in pairs},
                     training_times={w: training_time(store, w) for w in weights}, crop_metrics=_crop_metrics(runs))


def _crop_metrics(runs: list) -> dict:
    """run id -> its ``crop.*`` metrics, for the runs that logged any."""
    found = {r.info.run_id: {k: v for k, v in r.data.metrics.items() if k.startswith("crop.")} for r in runs}
    return {run_id: values for run_id, values in found.items() if values}


def read_training(store: Store, name: str = "training", sweeps: bool = False) -> pd.DataFrame | None:
    """FINISHED training runs (``srbench.kind=train``) of an experiment: one row per run with tags, params, final
    metrics; ``sweeps`` selects ablation points (runs with ``srbench.sweep``) instead of plain training runs, and
    adds their per-image values (column ``per_image_``: dataset -> frame, see :func:`_logged_per_image`).
    None when the experiment does not exist."""
    exp_id = store.experiment_id(name)
    if exp_id is None:
        return None
    import json
    rows = []
    for run in store.finished_runs(exp_id, kind="train"):
        tags = run.data.tags
        if bool(tags.get(T.SWEEP)) != sweeps:
            continue
        if tags.get(T.POINT_KEY) and tags.get(T.POINT_DONE) != "1":
            continue  # srbench.train.ablate writes point_done last: without it the point's evaluation is incomplete
        try:
            sweep_values = json.loads(tags.get(T.SWEEP_POINT) or "{}")
        except json.JSONDecodeError:
            sweep_values = {}
        rows.append({
            "sweep_values": sweep_values if isinstance(sweep_values, dict) else {},
            "run_id": run.info.run_id, "short": short(run.info.run_id), "run_name": run.info.run_name or "",
            "sweep": tags.get(T.SWEEP, ""), "budget": tags.get(T.BUDGET, ""),
            "baseline": str(tags.get(T.BASELINE, "")).lower() in ("1", "true", "yes"),
            "model": _none(tags.get(T.MODEL) or run.data.params.get("model")),
            "label": _none(tags.get(T.LABEL)), "measure_out": schema.measure_out_label(tags),
            "start_time": int(run.info.start_time or 0), "end_time": int(run.info.end_time or 0),
            "params_": dict(run.data.params), "metrics_": dict(run.data.metrics),
            **({"per_image_": _logged_per_image(store, run)} if sweeps else {}),
        })
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values(["sweep", "start_time", "run_id"]).reset_index(drop=True)
    return frame


def _logged_per_image(store: Store, run) -> dict:
    """dataset -> the run's per-image frame, for every dataset it logged a mean PSNR on (None where no CSV)."""
    sets = {p[2] for k in run.data.metrics if (p := schema.parse_dataset_metric(k)) and p[0] == "psnr"}
    return {d: store.per_image(run.info.run_id, d) for d in sorted(sets)}


def parent_crops(store: Store, parent_ids: list[str]) -> list[dict]:
    """The ``crops`` declared in the parents' ``experiment.yaml`` artifacts (deduplicated, in a fixed order)."""
    import yaml
    crops = {}
    for pid in parent_ids:
        path = store.artifact(pid, "experiment.yaml")
        if path is None:
            continue
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except yaml.YAMLError:
            continue
        for c in data.get("crops") or []:
            try:
                spec = (str(c["dataset"]), str(c["image"]), int(c["scale"]), tuple(int(v) for v in c["box"]))
            except (KeyError, TypeError, ValueError):
                continue
            crops[spec] = {"dataset": spec[0], "image": spec[1], "scale": spec[2], "box": list(spec[3])}
    return [crops[k] for k in sorted(crops, key=lambda k: (dataset_rank(k[0]), k[1], k[2], k[3]))]


def training_time(store: Store, weights: str) -> str:
    """Training time for a weights string: from the linked run for ``run:<id>``, else 'released checkpoint'."""
    from srbench.report.reference import HALF_CHECKPOINT_NOTE
    if not weights:
        return "—"
    if not weights.startswith("run:"):
        return HALF_CHECKPOINT_NOTE if weights.endswith("_half") else "released checkpoint"
    run_id = weights[len("run:"):].split(":")[0]   # run:<id>[:best|final]
    run = store.get_run(run_id)
    if run is None:
        return f"training run {short(run_id)} not found"
    metrics, tags = run.data.metrics, run.data.tags
    if "train_seconds" in metrics:
        seconds, source = metrics["train_seconds"], "train_seconds"
    elif tags.get(T.TRAIN_SECONDS):
        seconds, source = float(tags[T.TRAIN_SECONDS]), "train_seconds"
    else:
        if not run.info.end_time:
            return f"run {short(run_id)} has no end time"
        seconds = (run.info.end_time - run.info.start_time) / 1000.0
        source = "run duration"
    return f"{seconds / 3600.0:.2f} h ({source}, run {short(run_id)})"
