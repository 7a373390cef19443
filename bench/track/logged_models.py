"""Networks as MLflow 3 logged models: every evaluated (network, weights) is one model record of its experiment, and
every cell run's quality metrics are linked to it and to their dataset, so MLflow's Models view lists each network
with its PSNR/SSIM per dataset and scale (sortable, comparable) beside the runs table.

A model record is *external* (tag ``mlflow.modelIsExternal``): no pyfunc is serialised (MLflow's default PyTorch
format, ``pt2``, would freeze the input size of these fully convolutional networks); the weights are named by their
sha256 and source, as on the cell runs. One record per experiment and identity (:func:`model_identity`: the
architecture, the weights' sha256, the code hash and the inference knobs; its hash is the tag
:data:`MODEL_KEY_TAG`), named like the rows of the tables (``ecdn (ecdn_half)``, ``TinySR+``), type
:data:`MODEL_TYPE`, with params ``model``, ``weights``, ``weights_sha256``, ``code``, ``source`` and the parameter
counts.

Linking (:func:`link_cell_runs`) reads a FINISHED cell run from MLflow only, so cells computed now and cells already
in a store (reused, or written before this module existed) are linked alike, without recomputing anything: its
per-dataset metrics (``psnr_y.Set5``, ``ssim_y.Set5``, ``lpips.Set5``, the benchmark's own names,
:mod:`srbench.track.schema`) are logged again with the same values and step, now carrying the model id and the
dataset (name ``<set> x<scale>``, plus `` bn=batch`` and the protocol when not the defaults, digest = the run's
dataset-input digest); the run gets the model as an input and the tag :data:`RUN_LINK_TAG`, so linking again is a
no-op. Runs of one cell under several runtimes link to one value per (metric, dataset): they agree within 0.002 dB.
"""

from __future__ import annotations

import hashlib
import json
import time

from srbench.track import schema, tags as T
from srbench.track.ui_meta import DIGEST_CHARS
from srbench.track.run_writer import call

MODEL_KEY_TAG = T.MODEL_KEY
RUN_LINK_TAG = T.LOGGED_MODEL_ID
MODEL_TYPE = "srbench-sr"
_LINKED = ("psnr", "ssim", "lpips")


def model_identity(tags: dict) -> dict:
    """What makes two cell runs one network: architecture, weights sha256, code hash (an external model's own code
    hash, else srbench's code version, which covers its architectures) and the inference knobs (ensemble, tiling)."""
    return {"arch": tags.get(T.ARCH) or tags.get(T.MODEL),
            "weights_sha256": tags.get("srbench.weights_sha256"),
            "code": tags.get(T.MODEL_CODE) or tags.get(T.CODE_VERSION),
            "inference": tags.get(schema.INFERENCE_TAG, "")}


def model_key(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


#: Characters MLflow refuses in a model name, and what stands for them (``TinySR [tile 64/8]`` -> ``[tile 64-8]``).
_NAME_CHARS = str.maketrans({"/": "-", ":": "-", ".": "_", "%": "pct", '"': "", "'": ""})


def model_name(tags: dict) -> str:
    """The row name of the tables: the label (``ecdn (ecdn_half)`` where weights differ from the model's name) and
    the inference suffix, with the characters MLflow refuses in a model name replaced."""
    label = tags.get(T.LABEL) or tags.get(T.MODEL, "model")
    weights = tags.get(T.WEIGHTS)
    if weights and weights not in ("none", "sr-dir") and weights != label and f"({weights})" not in label:
        label = f"{label} ({weights})"
    return (label + tags.get(schema.INFERENCE_TAG, "")).translate(_NAME_CHARS)


def evaluation_name(dataset: str, tags: dict) -> str:
    """The dataset as the Models view groups it: ``Set5 x4``, with `` bn=batch`` and the protocol when not the
    defaults (``Set14 x4 paper_gray``)."""
    name = f"{dataset} x{tags.get(T.SCALE, '?')}"
    if tags.get(T.BN_MODE, "eval") != "eval":
        name += f" bn={tags[T.BN_MODE]}"
    if tags.get("protocol.name", "standard") != "standard":
        name += f" {tags['protocol.name']}"
    return name


def _record(run) -> tuple[dict, dict]:
    """(tags, params) of the model record made from its first cell run."""
    tags, metrics, params = run.data.tags, run.data.metrics, run.data.params
    identity = model_identity(tags)
    record_params = {"model": tags.get(T.MODEL, ""), "weights": tags.get(T.WEIGHTS, ""),
                     "weights_sha256": identity["weights_sha256"] or "", "code": identity["code"] or "",
                     "source": tags.get(T.WEIGHTS_SOURCE, "")}
    record_params.update({k: str(int(metrics[k])) for k in (schema.PARAMS, schema.PARAMS_EFFECTIVE) if k in metrics})
    if params.get("group") not in (None, "None"):
        record_params["group"] = params["group"]
    record_tags = {MODEL_KEY_TAG: model_key(identity), "mlflow.modelIsExternal": "true",
                   **{f"srbench.{k}": str(v) for k, v in identity.items() if v}}
    return record_tags, record_params


def _known_models(client, experiment_id: str) -> dict[str, str]:
    """Model key -> model id of the experiment's srbench model records."""
    known, token = {}, None
    while True:
        page = call(client, "search_logged_models", [experiment_id], filter_string=f"model_type = '{MODEL_TYPE}'",
                    max_results=100, page_token=token)
        for model in page:
            key = model.tags.get(MODEL_KEY_TAG)
            if key and key not in known:
                known[key] = model.model_id
        token = page.token
        if not token:
            return known


def _create(client, experiment_id: str, run) -> str:
    from mlflow.entities import LoggedModelStatus

    tags, params = _record(run)
    model = call(client, "create_logged_model", experiment_id, name=model_name(run.data.tags),
                 source_run_id=run.info.run_id, tags=tags, params=params, model_type=MODEL_TYPE)
    call(client, "finalize_logged_model", model.model_id, LoggedModelStatus.READY)
    return model.model_id


def linked_metrics(run, model_id: str, now_ms: int) -> list:
    """The run's per-dataset quality metrics, carrying the model id and their dataset."""
    from mlflow.entities import Metric

    tags, out = run.data.tags, []
    digests = {d.dataset.name: d.dataset.digest for d in (run.inputs.dataset_inputs if run.inputs else [])}
    for key, value in sorted(run.data.metrics.items()):
        parsed = schema.parse_dataset_metric(key)
        if parsed is None or parsed[0] not in _LINKED:
            continue
        dataset = parsed[2]
        digest = digests.get(dataset) or tags.get(f"srbench.dataset_fingerprint.{dataset}", "unknown")[:DIGEST_CHARS]
        out.append(Metric(key, value, now_ms, 0, model_id=model_id, dataset_name=evaluation_name(dataset, tags),
                          dataset_digest=digest))
    return out


def link_cell_runs(client, experiment_id: str, runs) -> dict[str, str]:
    """Link every FINISHED cell run of ``runs`` (run ids or ``Run`` objects) to its network's model record, creating
    the record when the experiment has none; returns run id -> model id. Runs already linked are left alone."""
    if not hasattr(client, "create_logged_model"):  # a client older than MLflow 3 has no model records
        return {}
    from mlflow.entities import LoggedModelInput, RunTag

    known = _known_models(client, experiment_id)
    ids = set(known.values())
    out = {}
    for run in runs:
        run = call(client, "get_run", run) if isinstance(run, str) else run
        tags = run.data.tags
        if tags.get(T.KIND) != "cell" or run.info.status != "FINISHED":
            continue
        if tags.get(RUN_LINK_TAG) in ids:
            out[run.info.run_id] = tags[RUN_LINK_TAG]
            continue
        key = model_key(model_identity(tags))
        if key not in known:
            known[key] = _create(client, experiment_id, run)
            ids.add(known[key])
        model_id = known[key]
        call(client, "log_batch", run.info.run_id, metrics=linked_metrics(run, model_id, int(time.time() * 1000)),
             tags=[RunTag(RUN_LINK_TAG, model_id)])
        call(client, "log_inputs", run.info.run_id, models=[LoggedModelInput(model_id)])
        out[run.info.run_id] = model_id
    return out


def link_store(client) -> int:
    """Link every FINISHED cell run of every experiment in the store (``srbench ui`` runs this before the server
    starts, so a store written before model records existed shows its networks too); returns how many runs were
    linked or already were."""
    count = 0
    for exp in call(client, "search_experiments"):
        token = None
        while True:
            page = call(client, "search_runs", [exp.experiment_id], filter_string=f"tags.`{T.KIND}` = 'cell' AND "
                        "attributes.status = 'FINISHED'", max_results=1000, page_token=token)
            count += len(link_cell_runs(client, exp.experiment_id, list(page)))
            token = page.token
            if not token:
                break
    return count
