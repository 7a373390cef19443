"""MLflow tracking: the store, the run schema, and robust writes.

Store: ``$MLFLOW_TRACKING_URI`` or ``--tracking-uri`` when given, else a local SQLite file
``sqlite:///<repo>/mlruns/mlflow.db`` with artifacts in ``<repo>/mlruns/artifacts``.

Schema (what the runner writes and the reports read)
----------------------------------------------------
Parent run (one per ``srbench benchmark`` invocation): tags ``srbench.kind=benchmark``, ``srbench.experiment_file``;
artifact ``experiment.yaml`` (the resolved experiment).

Cell run (child of a parent, one per model x weights x BN mode x scale x runtime): tag ``srbench.kind=cell`` and
``srbench.cell_key`` (hash of weights checksum, protocol, dataset fingerprints, runtime and code version);
tags ``srbench.{model,arch,weights,weights_sha256,label,scale,bn_mode,device,device_name,torch,git_commit,
code_version,datasets}`` and ``protocol.<knob>`` for every knob; the runtime that ran the forward passes
``srbench.runtime`` with ``srbench.runtime_{requested,versions,choice,gate}`` (what was asked, package versions, auto's
choice and the fidelity gate, one line each; ``srbench.runtime_compare=1`` on a runtime comparison's cells); params
``model, weights, scale, group, protocol, bn_mode, runtime``;
metrics ``psnr_<color>.<Set>``, ``ssim_<color>.<Set>``, ``n_images.<Set>``, ``forward_s.<Set>``,
``params``, ``params_effective``, ``mult_adds_g``, ``latency_ms``, ``latency_iqr_ms``, ``peak_mem_mb``;
artifacts ``per_image/<Set>.csv`` (name, psnr, ssim, forward_s, gray).
A cell run is marked FINISHED only after everything is logged; readers use FINISHED runs only.

Training runs (``srbench.kind=train``) and ablation points (``srbench.kind=train`` with ``srbench.sweep``) are
described in :mod:`srbench.train.trainer` and :mod:`srbench.train.ablate`.
"""

from __future__ import annotations

import functools
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Callable, TypeVar

from srbench.core.store import REPO_ROOT

T = TypeVar("T")

DEFAULT_DIR = REPO_ROOT / "mlruns"


def tracking_uri(uri: str | None = None) -> str:
    """The tracking URI in force: the argument, else ``$MLFLOW_TRACKING_URI``, else the project's SQLite file."""
    if uri:
        return uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    DEFAULT_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_DIR / 'mlflow.db'}"


def _quiet_mlflow() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import logging
    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking", "mlflow.store"):
        logging.getLogger(name).setLevel(logging.WARNING)


def client(uri: str | None = None):
    """An ``MlflowClient`` on the store in force (explicit client: no global fluent state, safe to use in threads).

    For a SQLite store the first connection (which creates or migrates the schema) is made under an exclusive file
    lock: two processes opening a new store at once would otherwise race in MLflow's migrations.
    """
    _quiet_mlflow()
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(uri)
    if not uri.startswith("sqlite:///"):
        return MlflowClient(tracking_uri=uri)
    import fcntl

    db = Path(uri[len("sqlite:///"):])
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        mlflow_client = MlflowClient(tracking_uri=uri)
        mlflow_client.search_experiments(max_results=1)  # opens the store: creates/migrates the schema
    return mlflow_client


def retrying(fn: Callable[..., T]) -> Callable[..., T]:
    """Retry an MLflow write when SQLite is locked by another process (concurrent benchmarks share one store)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        delay = 0.05
        for attempt in range(12):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # sqlite3.OperationalError arrives wrapped in MlflowException
                if "locked" not in str(exc).lower() and "busy" not in str(exc).lower() or attempt == 11:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    return wrapper


@retrying
def get_or_create_experiment(mlflow_client, name: str) -> str:
    """The id of experiment ``name``, created (with artifacts beside the SQLite store when local) if needed."""
    exp = mlflow_client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(exp.experiment_id)
        return exp.experiment_id
    uri = mlflow_client.tracking_uri
    artifact_location = None
    if uri.startswith("sqlite:///"):
        artifact_location = (Path(uri[len("sqlite:///"):]).parent / "artifacts" / name).as_uri()
    try:
        return mlflow_client.create_experiment(name, artifact_location=artifact_location)
    except Exception:
        exp = mlflow_client.get_experiment_by_name(name)  # created by a concurrent process meanwhile
        if exp is None:
            raise
        return exp.experiment_id


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The checkout's commit (with ``-dirty`` when it has uncommitted changes), or ``unknown``."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                             check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
