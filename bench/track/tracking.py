"""MLflow tracking: the store, the run schema, and robust writes.

Store: ``$MLFLOW_TRACKING_URI`` or ``--tracking-uri`` when given, else a local SQLite file
``sqlite:///<repo>/mlruns/mlflow.db`` with artifacts in ``<repo>/mlruns/artifacts``.

Schema (what the benchmark writes and the reports read)
----------------------------------------------------
Every ``srbench.*`` tag below is declared, with its meaning and writers, in :mod:`srbench.track.tags`; runs are
written through :mod:`srbench.track.run_writer`.

Parent run (one per ``srbench benchmark`` invocation): tags ``srbench.kind=benchmark``, ``srbench.experiment_file``;
artifact ``experiment.yaml`` (the resolved experiment).

Cell run (child of a parent, one per model x weights x BN mode x scale x runtime): tag ``srbench.kind=cell`` and
``srbench.cell_key`` (hash of weights checksum, protocol, dataset fingerprints, device, library versions, runtime and code
version); tags ``srbench.{model,arch,weights,weights_sha256,label,scale,bn_mode,device,device_name,torch,git_commit,
code_version,datasets,measure_out}``, ``srbench.env.<library>`` (versions) and ``protocol.<knob>`` for every knob;
params ``model, weights, scale, group, protocol, bn_mode``; metrics ``psnr_<color>.<Set>``, ``ssim_<color>.<Set>``,
``n_images.<Set>``, ``forward_s.<Set>``, ``params``, ``params_effective``, ``mult_adds_g``, ``latency_ms``,
``latency_iqr_ms``, ``peak_mem_mb`` (names and definitions: :mod:`srbench.track.schema`);
artifacts ``per_image/<Set>.csv`` (name, psnr, ssim, forward_s, gray, lpips: empty where not measured, shared: 1 where
the output came from another cell's pass, named by the ``srbench.shared_from`` tag: srbench.eval.shared_passes);
``lpips.<Set>`` where declared (:mod:`srbench.track.metric_plan`; tag ``srbench.lpips_datasets``); one MLflow dataset
input per dataset (digest = its fingerprint; :mod:`srbench.track.ui_meta`). Also ``srbench.{ensemble,tile,inference}``
(and ``srbench.tile_overlap``, ``srbench.weights_key``, ``srbench.model_code`` where they apply; see
:mod:`srbench.eval.inference`, :mod:`srbench.models.external`). A folder scored by ``srbench score`` is a cell run
too, with weights ``sr-dir`` and no cost figures (:mod:`srbench.track.score`). Experiments carry the tag
``mlflow.experimentKind=custom_model_development``. The runtime that ran the forward passes is
``srbench.runtime``, with ``srbench.runtime_{requested,versions,choice,gate}`` (what was asked, package versions,
auto's choice and the fidelity gate, one line each; ``srbench.runtime_compare=1`` on a runtime comparison's cells)
and the param ``runtime``.
A cell run is marked FINISHED only after everything is logged; readers use FINISHED runs only.

Training runs (``srbench.kind=train``) and ablation points (``srbench.kind=train`` with ``srbench.sweep``) are
described in :mod:`srbench.train.trainer` and :mod:`srbench.train.ablate`.
Protocol-sensitivity runs (``srbench.kind=explain``, ``srbench explain --log``) are described in
:mod:`srbench.track.explain_log`.
"""

from __future__ import annotations

import functools
import os
import random
import subprocess
import time
from pathlib import Path
from collections.abc import Callable
from typing import TypeVar

from srbench.core.errors import SrbenchError
from srbench.core.store import IN_CHECKOUT, REPO_ROOT, mlruns_dir
from srbench.track.backend import check_server, check_uri, open_sqlite

T = TypeVar("T")

# MLflow 3.17's UI opens an experiment without this tag in its GenAI (traces) view; with it, on the runs table.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def tracking_uri(uri: str | None = None) -> str:
    """The tracking URI in force: the argument, else ``$MLFLOW_TRACKING_URI``, else the project's SQLite file.

    Checked before any work (:func:`srbench.track.backend.check_uri`): a relative ``sqlite:///x.db`` is resolved
    against the working directory (and a note says so); ``file:`` stores and unknown schemes are refused.
    """
    if not uri:
        uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        folder = mlruns_dir()  # the checkout's mlruns/, or $SRBENCH_HOME/mlruns when installed
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'mlflow.db'}"
    return check_uri(uri)


def _quiet_mlflow() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import logging
    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking", "mlflow.store"):
        logging.getLogger(name).setLevel(logging.WARNING)


def client(uri: str | None = None, *, write: bool = True):
    """An ``MlflowClient`` on the store in force (explicit client: no global fluent state, safe to use in threads).

    Checked before it is handed out, so that a bad store fails at once with one line naming it (see
    :mod:`srbench.track.backend`): a server must answer within seconds; a SQLite store is created atomically,
    repaired when an interrupted creation left it incomplete and empty, and refused when unreadable or, with
    ``write`` (every command but ``report``), read-only.
    """
    uri = tracking_uri(uri)
    _quiet_mlflow()
    if not uri.startswith("sqlite:///"):
        check_server(uri)
        from mlflow.tracking import MlflowClient
        return MlflowClient(tracking_uri=uri)
    return open_sqlite(Path(uri[len("sqlite:///"):]), write=write)


#: How often a write that lost an insert race is tried again: MLflow checks that a row (a dataset of
#: ``log_inputs``, say) exists and then inserts it, so two processes logging the same row at once make one of them
#: fail on the UNIQUE constraint; the next try finds the row and links it. A conflict that persists is no race.
UNIQUE_RACE_TRIES = 3


def _retry_limit(exc: Exception) -> int:
    """How many tries an MLflow write failing with ``exc`` gets in all: 12 while SQLite is locked or busy, a few for a
    lost insert race (UNIQUE constraint), one (no retry) for anything else."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return 12
    return UNIQUE_RACE_TRIES if "unique constraint failed" in text else 1


def retrying(fn: Callable[..., T]) -> Callable[..., T]:
    """Retry an MLflow write when another process holds SQLite's lock or won an insert race on the same row
    (concurrent benchmarks share one store)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        delay = 0.05
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # sqlite3 errors arrive wrapped in MlflowException
                if attempt >= _retry_limit(exc):
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)

    return wrapper


MAX_EXPERIMENT_NAME = 500  # MLflow's limit (mlflow.utils.validation.MAX_EXPERIMENT_NAME_LENGTH)


def check_experiment_name(name, where: str = "experiment name") -> None:
    """Refuse, before any work, an experiment name that MLflow rejects (empty, over 500 characters) or that would
    not be one folder under the store's ``artifacts/`` (a path separator, ``.``/``..``, control characters)."""
    if not isinstance(name, str) or not name.strip():
        raise SrbenchError(f"{where} {name!r}: give the MLflow experiment a non-empty name")
    if len(name) > MAX_EXPERIMENT_NAME:
        raise SrbenchError(f"{where} {name[:40]!r}...: {len(name)} characters, MLflow allows at most "
                           f"{MAX_EXPERIMENT_NAME}")
    if any(c in name for c in "/\\") or name.strip() in (".", "..") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise SrbenchError(f"{where} {name!r}: names its artifact folder, so it may not contain / or \\, control "
                           "characters, or be . or ..; use letters, digits, spaces and _ - .")


def check_keys(keys, where: str) -> None:
    """Refuse, before any work, metric or tag keys MLflow would reject only when they are logged (characters other
    than letters, digits, ``_ - . / : `` and space; path-like keys; over 250 characters), naming ``where`` they
    come from (e.g. a dataset)."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, _validate_metric_name

    for key in keys:
        try:
            _validate_metric_name(key)
        except MlflowException as exc:
            raise SrbenchError(f"{where}: MLflow rejects the key {key!r} derived from it "
                               f"({str(exc).splitlines()[0][:160]}); rename it") from None
        if len(key) > MAX_ENTITY_KEY_LENGTH:
            raise SrbenchError(f"{where}: the key {key[:60]!r}... derived from it has {len(key)} characters, MLflow "
                               f"allows at most {MAX_ENTITY_KEY_LENGTH}; use a shorter name")


@retrying
def get_or_create_experiment(mlflow_client, name: str) -> str:
    """The id of experiment ``name``, created (with artifacts beside the SQLite store when local) if needed.

    Every experiment carries ``mlflow.experimentKind=custom_model_development`` (set at creation, and on an existing
    experiment that lacks it or has another kind), so the MLflow UI opens it on its runs.
    """
    check_experiment_name(name)
    exp = mlflow_client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(exp.experiment_id)
        if exp.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            mlflow_client.set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return exp.experiment_id
    uri = mlflow_client.tracking_uri
    artifact_location = None
    if uri.startswith("sqlite:///"):
        artifact_location = (Path(uri[len("sqlite:///"):]).parent / "artifacts" / name).as_uri()
    try:
        return mlflow_client.create_experiment(name, artifact_location=artifact_location,
                                               tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    except Exception:
        exp = mlflow_client.get_experiment_by_name(name)  # created by a concurrent process meanwhile
        if exp is None:
            raise
        if exp.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            mlflow_client.set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return exp.experiment_id


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The checkout's commit (with ``-dirty`` when it has uncommitted changes), or ``unknown`` (also when installed
    from a wheel: the installed files belong to no checkout)."""
    if not IN_CHECKOUT:
        return "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                             check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
