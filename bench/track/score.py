"""Logging a scored folder of SR images (:mod:`srbench.eval.sr_folder`) as a cell run, beside the benchmark's.

The run has the benchmark cell's schema (:mod:`srbench.track.tracking`), so ``srbench report`` shows it as a row of
the paper table: tags ``srbench.kind=cell``, ``srbench.model`` and ``srbench.label`` = the label, ``srbench.arch`` =
``sr-dir``, ``srbench.weights=sr-dir`` with the folder's content fingerprint as ``srbench.weights_sha256``,
``srbench.sr_dir`` (the folder), the protocol's knobs and the dataset fingerprint; the per-dataset metrics and the
per-image CSV artifact; no cost figures (nothing was run). BN mode does not apply and is not logged (readers take
``eval``). Its cell key hashes the label, the fingerprint, the scale, the protocol, the dataset's fingerprint and the
code version, so scoring the same folder again reuses the run (``force`` logs a new one).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from srbench.data.datasets import dataset_fingerprint, dataset_id
from srbench.eval.protocol import Protocol
from srbench.eval.sr_folder import ScoredFolder
from srbench.track import orphans, tags as T, tracking
from srbench.track.cell_log import dataset_values, log_per_image, run_tags
from srbench.track.cells import cell_key, code_version
from srbench.track.logged_models import link_cell_runs
from srbench.track.run_writer import RunWriter, finished_or_clean

SR_DIR = "sr-dir"  # the weights name (and arch) of a scored folder's run


def log_scored_folder(scored: ScoredFolder, *, label: str, protocol: Protocol, experiment: str = "benchmark",
                      tracking_uri: str | None = None, force: bool = False) -> tuple[str, str]:
    """Log ``scored`` as a FINISHED cell run in MLflow experiment ``experiment``; returns (status, run id) with
    status ``logged``, or ``cached`` when the same cell is already there (and ``force`` is not given)."""
    result = scored.result
    dataset, scale = result.dataset, result.scale
    fingerprint = dataset_fingerprint(dataset, scale, protocol.lr_input)
    key = cell_key(kind=SR_DIR, label=label, sr_sha256=scored.fingerprint, scale=scale,
                   protocol=protocol.identity(None), datasets={dataset: fingerprint}, code=code_version())
    client = tracking.client(tracking_uri)
    experiment_id = tracking.get_or_create_experiment(client, experiment)
    orphans.reap(client, experiment_id)
    done = finished_or_clean(client, experiment_id, key)
    if done is not None and not force:
        return "cached", done.info.run_id
    set_id = dataset_id(dataset)
    tags = {T.KIND: T.KIND_CELL, T.CELL_KEY: key, T.MODEL: label, T.ARCH: SR_DIR,
            T.LABEL: label, T.WEIGHTS: SR_DIR, T.WEIGHTS_SHA256: scored.fingerprint,
            T.WEIGHTS_SOURCE: str(scored.folder), T.SR_DIR: str(scored.folder),
            T.SCALE: str(scale), T.DATASETS: dataset,
            **run_tags(torch.device("cpu"), protocol), T.dataset_fingerprint(set_id): fingerprint}
    with RunWriter.create(client, experiment_id, run_name=f"{label} x{scale} (scored)", tags=tags) as run:
        run.batch(params={"model": label, "weights": SR_DIR, "scale": scale, "protocol": protocol.name},
                  metrics=dataset_values(result, set_id, protocol.color))
        with tempfile.TemporaryDirectory() as tmp:
            log_per_image(client, run.run_id, result, set_id, Path(tmp))
    link_cell_runs(client, experiment_id, [run.run_id])  # a network of MLflow's Models view, like the measured ones
    return "logged", run.run_id
