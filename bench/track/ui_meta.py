"""What makes a run readable in the MLflow UI: its name and its dataset inputs (the runs table's Dataset column).

Nothing here changes a number; it only names what the runner measured:

* :func:`cell_run_name`: ``<model> (<weights>) x<scale> bn=<mode> <protocol>``, e.g. ``ecdn (ecdn_half) x4 bn=batch
  ecdn_report`` (``bicubic x4 bn=eval standard`` without weights), ``run:<id>`` weights shortened to 8 hex digits and
  weights files named by their file name;
* :func:`dataset_inputs`: one MLflow dataset input per dataset of the cell, named by the dataset's id, with the
  dataset fingerprint (``srbench.data.datasets.dataset_fingerprint``, also in the run's
  ``srbench.dataset_fingerprint.<id>`` tag) as digest (its first :data:`DIGEST_CHARS` hex digits: MLflow's SQL
  stores hold 36 characters), context ``evaluation`` and a profile with the image count, scale and LR source.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath

DIGEST_CHARS = 16
CONTEXT = "evaluation"
_RUN_ID = re.compile(r"^run:([0-9a-fA-F]{8})[0-9a-fA-F]*(.*)$")


def short_weights(weights: str | None) -> str:
    """Weights as a run name shows them: ``run:<8 hex>[:best]``, a file's name, or the catalogue name."""
    if not weights or weights == "none":
        return ""
    m = _RUN_ID.match(weights)
    if m:
        return f"run:{m.group(1)}{m.group(2)}"
    if "/" in weights or "\\" in weights or weights.endswith(".pth"):
        return PurePath(weights).name
    return weights


def cell_run_name(model: str, weights: str | None, scale: int, bn_mode: str, protocol: str) -> str:
    """The MLflow run name of a cell (see the module docstring)."""
    w = short_weights(weights)
    head = f"{model} ({w})" if w else model
    return f"{head} x{scale} bn={bn_mode} {protocol}"


def dataset_inputs(datasets: list[str], scale: int, lr_source: str) -> list:
    """``mlflow.entities.DatasetInput`` records of a cell's datasets, for ``MlflowClient.log_inputs``."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    from srbench.data.datasets import dataset_fingerprint, dataset_id, hr_paths, resolve_dataset

    out = []
    for d in datasets:
        folder = resolve_dataset(d)
        fingerprint = dataset_fingerprint(d, scale, lr_source)
        profile = {"images": len(hr_paths(folder)), "scale": scale, "lr_source": lr_source,
                   "fingerprint": fingerprint}
        dataset = Dataset(name=dataset_id(d), digest=fingerprint[:DIGEST_CHARS], source_type="local",
                          source=json.dumps({"uri": folder.as_uri()}), profile=json.dumps(profile))
        out.append(DatasetInput(dataset, tags=[InputTag("mlflow.data.context", CONTEXT)]))
    return out
