"""Logging an ``srbench explain`` measurement (:mod:`srbench.eval.explain`) as one MLflow run, and reading it back.

The run (experiment ``explain`` by default) has tags ``srbench.kind=explain``, ``srbench.{model,label,weights,
weights_sha256,scale,dataset}``, ``srbench.explain_pairs`` (1 when pairs were measured), ``srbench.cell_key`` (the
identity below), the environment and the base protocol's knobs (``protocol.<knob>``, as a cell run's); metrics
``psnr_<color>.<id>`` and ``ssim_<color>.<id>`` of the standard row, ``forward_passes`` and ``forward_s``; and the
table as artifacts ``explain/table.json`` (every row: knob, value, changes, PSNR, SSIM and their differences;
what the report reads) and ``explain/table.md`` (as printed). It is marked FINISHED only after all of that is
logged; an interruption or error marks it KILLED or FAILED. Its key hashes the weights, dataset fingerprint, scale,
base protocol, the deviations measured and the code version, so ``make explain`` reuses a finished run.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from srbench.data.datasets import dataset_fingerprint, dataset_id
from srbench.eval.explain import Deviation, Explained, Row
from srbench.track import orphans, schema, tags as T, tracking
from srbench.track.cell_log import run_tags
from srbench.track.cells import cell_key, code_version
from srbench.track.run_writer import RunWriter, finished_or_clean

KIND = T.KIND_EXPLAIN
TABLE_JSON = "explain/table.json"


def explain_key(*, model: str, weights_sha256: str, dataset: str, scale: int, base, variants: list[Deviation],
                runtime: str) -> str:
    """The identity of an explain measurement (see the module docstring)."""
    return cell_key(kind=KIND, model=model, weights_sha256=weights_sha256, scale=scale, protocol=base.as_dict(),
                    dataset=dataset_fingerprint(dataset, scale, base.lr_input), runtime=runtime,
                    variants=[v.label for v in variants], code=code_version())


def find_logged(key: str, *, experiment: str, tracking_uri: str | None = None) -> str | None:
    """The run id of a FINISHED explain run with this key, or None (stale unfinished ones are cleaned up)."""
    client = tracking.client(tracking_uri)
    experiment_id = tracking.get_or_create_experiment(client, experiment)
    orphans.reap(client, experiment_id)
    done = finished_or_clean(client, experiment_id, key)
    return done.info.run_id if done is not None else None


def log_explained(explained: Explained, table_md: str, *, key: str, model: str, label: str, weights: str,
                  weights_sha256: str, pairs: bool, experiment: str, tracking_uri: str | None = None,
                  extra_tags: dict | None = None) -> str:
    """Log ``explained`` as one FINISHED run (see the module docstring); returns its id."""
    client = tracking.client(tracking_uri)
    experiment_id = tracking.get_or_create_experiment(client, experiment)
    set_id = dataset_id(explained.dataset)
    base = explained.base
    tags = {T.KIND: KIND, T.CELL_KEY: key, T.MODEL: model, T.ARCH: model, T.LABEL: label, T.WEIGHTS: weights,
            T.WEIGHTS_SHA256: weights_sha256, T.SCALE: str(explained.scale), T.DATASET: set_id,
            T.DATASETS: explained.dataset, T.EXPLAIN_PAIRS: str(int(pairs)), **run_tags(torch.device("cpu"), base),
            **(extra_tags or {})}
    with RunWriter.create(client, experiment_id, tags=tags,
                          run_name=f"explain {label} {set_id} x{explained.scale}") as run:
        std = explained.rows[0]
        run.metrics({schema.dataset_metric("psnr", set_id, base.color): std.psnr,
                     schema.dataset_metric("ssim", set_id, base.color): std.ssim,
                     "forward_passes": explained.forward_passes, "forward_s": explained.forward_s})
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "explain"
            folder.mkdir()
            (folder / "table.json").write_text(json.dumps(explained.as_dict(), indent=1))
            (folder / "table.md").write_text(table_md)
            run.artifacts(folder, "explain")
    return run.run_id


def rows_from_table(table: dict) -> list[Row]:
    """The rows of a logged ``table.json`` (standard first), as :func:`srbench.eval.explain.match_published` takes
    them."""
    rows = []
    for r in table["rows"]:
        changes = tuple((k, v) for k, v in r["changes"].items())
        dev = Deviation(r["knob"], r["value"], changes)
        rows.append(Row(dev, float(r["psnr"]), float(r["ssim"]), float(r["d_psnr"]), float(r["d_ssim"])))
    return rows


def load_table(client, run_id: str) -> dict:
    """The ``table.json`` artifact of an explain run."""
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(run_id, TABLE_JSON, tmp)
        return json.loads(Path(path).read_text())
