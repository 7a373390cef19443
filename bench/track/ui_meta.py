"""What makes a run readable in the MLflow UI: its name and its dataset inputs (the runs table's Dataset column).

Nothing here changes a number; it only names what the benchmark measured:

* :func:`cell_run_name`: ``<model> (<weights>) x<scale> bn=<mode> <protocol>``, e.g. ``ecdn (ecdn_half) x4 bn=batch
  ecdn_report`` (``bicubic x4 bn=eval standard`` without weights), ``run:<id>`` weights shortened to 8 hex digits and
  weights files named by their file name;
* :func:`dataset_inputs`: one MLflow dataset input per dataset of the cell, named by the dataset's id, with the
  dataset fingerprint (``srbench.data.datasets.dataset_fingerprint``, also in the run's
  ``srbench.dataset_fingerprint.<id>`` tag) as digest (its first :data:`DIGEST_CHARS` hex digits: MLflow's SQL
  stores hold 36 characters), context ``evaluation`` and a profile with the image count, scale and LR source;
* :func:`prepare_ui` (run by ``srbench ui`` before the server starts): every experiment holding srbench runs gets the
  ``mlflow.experimentKind`` tag (stores written before srbench set it), and every experiment with cell runs a saved
  runs-table view, :data:`VIEW_KEY`, that lists the cell runs flat (not folded under their benchmark invocation),
  sorted by name, with the Dataset column and the quality and cost metrics in view.

MLflow 3.17's UI has a global GenAI / "Model training" switch (browser storage, default GenAI) that decides the view
as well as the experiment tag; a ``workflowType=machine_learning`` URL parameter selects the model-training view, so
:func:`ui_links` put it in every link. A saved view is the experiment tag ``mlflow.sharedViewState.<key>`` holding
``{"name", "createdAt", "updatedAt", "state": "<JSON of the table state>"}``, opened with ``?viewStateShareKey=<key>``
(the UI's own "Views" menu lists it too); the state keys are the UI's (``searchFilter``, ``orderByKey``,
``orderByAsc``, ``selectedColumns`` with columns named ``attributes.`Dataset``` and ``metrics.`<key>```).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import PurePath

from srbench.track import schema, tags as T, tracking

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


VIEW_KEY = "srbench-cells"
VIEW_TAG = "mlflow.sharedViewState." + VIEW_KEY
VIEW_NAME = "srbench: cell runs"
CELL_FILTER = f"tags.`{T.KIND}` = 'cell'"
DATASET_ORDER = ("Set5", "Set14", "B100", "Urban100")
_QUALITY = ("psnr", "ssim", "lpips")
_COST_COLUMNS = (schema.PARAMS, schema.MULT_ADDS, schema.LATENCY, schema.PEAK_MEM)


def view_columns(metric_keys) -> list[str]:
    """The runs-table columns of the saved view: Dataset, then per dataset PSNR, SSIM (each colour) and LPIPS, then
    parameters, Mult-Adds, latency and memory."""
    per_dataset = {}
    for key in metric_keys:
        parsed = schema.parse_dataset_metric(key)
        if parsed and parsed[0] in _QUALITY:
            per_dataset.setdefault(parsed[2], []).append((_QUALITY.index(parsed[0]), parsed[1] or "", key))
    order = sorted(per_dataset, key=lambda d: (DATASET_ORDER.index(d) if d in DATASET_ORDER else len(DATASET_ORDER), d))
    keys = [k for d in order for _, _, k in sorted(per_dataset[d])]
    keys += [k for k in _COST_COLUMNS if k in set(metric_keys)]
    return ["attributes.`Dataset`"] + [f"metrics.`{k}`" for k in keys]


def view_tag_value(metric_keys, now_ms: int | None = None) -> str:
    """The saved view's tag value (see the module docstring)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    state = {"searchFilter": CELL_FILTER, "orderByKey": "tags.`mlflow.runName`", "orderByAsc": True,
             "selectedColumns": view_columns(metric_keys)}
    return json.dumps({"name": VIEW_NAME, "createdAt": now_ms, "updatedAt": now_ms, "state": json.dumps(state)})


def prepare_ui(client) -> list[tuple[str, str, bool]]:
    """Tag the store's srbench experiments for the UI (see the module docstring); returns (name, id, has a cell
    view) per srbench experiment, by name."""
    retry = tracking.retrying
    out = []
    for exp in retry(client.search_experiments)():
        if not retry(client.search_runs)([exp.experiment_id], max_results=1,
                                         filter_string=f"tags.`{T.KIND}` LIKE '%'"):
            continue
        if exp.tags.get(tracking.EXPERIMENT_KIND_TAG) != tracking.EXPERIMENT_KIND:
            retry(client.set_experiment_tag)(exp.experiment_id, tracking.EXPERIMENT_KIND_TAG, tracking.EXPERIMENT_KIND)
        keys, token = set(), None
        while True:
            page = retry(client.search_runs)([exp.experiment_id], filter_string=CELL_FILTER, max_results=1000,
                                             page_token=token)
            for run in page:
                keys.update(run.data.metrics)
            token = page.token
            if not token:
                break
        if keys:
            retry(client.set_experiment_tag)(exp.experiment_id, VIEW_TAG, view_tag_value(keys))
        out.append((exp.name, exp.experiment_id, bool(keys)))
    return sorted(out)


def ui_links(base: str, experiments: list[tuple[str, str, bool]]) -> list[str]:
    """``<name>: <url>`` per experiment: its cell-runs view where it has one, else its runs table; then the Models
    view of each experiment with cell runs."""
    lines = [f"experiments: {base}/#/experiments?workflowType=machine_learning"]
    for name, exp_id, has_view in experiments:
        view = f"viewStateShareKey={VIEW_KEY}&" if has_view else ""
        lines.append(f"{name}: {base}/#/experiments/{exp_id}/runs?{view}workflowType=machine_learning")
    for name, exp_id, has_view in experiments:  # the networks as model records (srbench.track.logged_models)
        if has_view:
            lines.append(f"{name} (models): {base}/#/experiments/{exp_id}/models?workflowType=machine_learning")
    return lines
