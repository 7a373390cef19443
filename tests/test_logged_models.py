"""Networks as MLflow 3 logged models (srbench.track.logged_models): one record per (network, weights), every cell's
PSNR/SSIM linked to it and to its dataset, cells already in a store linked without being recomputed."""

from __future__ import annotations

from pathlib import Path

import pytest

from srbench.data.datasets import dataset_id
from srbench.track import logged_models, tracking
from srbench.track.experiment import load_experiment
from srbench.track.benchmark import run_benchmark


def _experiment(tmp_path: Path, dataset: Path) -> Path:
    path = tmp_path / "lm.yaml"
    path.write_text(f"""
name: lm
datasets: [{dataset}]
scales: [2, 3]
device: cpu
runtime: eager
measure: {{latency: false, memory: false, out_height: 48, out_width: 48}}
models:
  - {{model: bicubic}}
  - {{model: carn_m, weights: carn_m, scales: [2]}}
""")
    return path


def _models(client, experiment_id):
    return list(client.search_logged_models([experiment_id]))


def test_every_network_is_a_model_with_its_cells_metrics(tmp_path, tiny_dataset, mlflow_uri, monkeypatch):
    path = _experiment(tmp_path, tiny_dataset)
    monkeypatch.setattr("srbench.track.benchmark.link_cell_runs", lambda *a, **k: {})  # a store from before records
    outcomes = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False)
    assert [o.status for o in outcomes] == ["computed"] * 3
    client = tracking.client(mlflow_uri)
    exp_id = client.get_experiment_by_name("lm").experiment_id
    assert _models(client, exp_id) == []
    monkeypatch.undo()

    again = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False)  # reused and linked
    assert [o.status for o in again] == ["cached"] * 3
    models = {m.name: m for m in _models(client, exp_id)}
    assert sorted(models) == ["bicubic", "carn_m"]
    carn = models["carn_m"]
    assert carn.params["weights_sha256"].startswith("d48a759a") and carn.params["params"] == "414811"
    assert carn.model_type == "srbench-sr" and carn.tags["mlflow.modelIsExternal"] == "true"
    assert str(carn.status).endswith("READY")
    key = dataset_id(tiny_dataset)
    cells = client.search_runs([exp_id], filter_string="tags.`srbench.kind` = 'cell'")
    assert len(cells) == 3  # nothing recomputed
    for run in cells:
        model = models[run.data.tags["srbench.model"]]
        assert run.data.tags[logged_models.RUN_LINK_TAG] == model.model_id
        assert [i.model_id for i in client.get_run(run.info.run_id).inputs.model_inputs] == [model.model_id]
        scale = run.data.tags["srbench.scale"]
        linked = {(m.key, m.dataset_name): m.value for m in client.get_logged_model(model.model_id).metrics}
        for what in ("psnr_y", "ssim_y"):
            assert linked[(f"{what}.{key}", f"{key} x{scale}")] == run.data.metrics[f"{what}.{key}"]
    bicubic_sets = {m.dataset_name for m in client.get_logged_model(models["bicubic"].model_id).metrics}
    assert bicubic_sets == {f"{key} x2", f"{key} x3"}

    run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False)  # linking twice adds nothing
    assert len(_models(client, exp_id)) == 2
    carn_metrics = client.get_logged_model(models["carn_m"].model_id).metrics
    assert len(carn_metrics) == 2  # psnr_y and ssim_y on the one x2 dataset, once each


def test_link_store_links_runs_of_every_experiment(tmp_path, tiny_dataset, mlflow_uri, monkeypatch):
    monkeypatch.setattr("srbench.track.benchmark.link_cell_runs", lambda *a, **k: {})
    run_benchmark(load_experiment(_experiment(tmp_path, tiny_dataset)), tracking_uri=mlflow_uri, progress=False)
    monkeypatch.undo()
    client = tracking.client(mlflow_uri)
    assert logged_models.link_store(client) == 3
    exp_id = client.get_experiment_by_name("lm").experiment_id
    assert sorted(m.name for m in _models(client, exp_id)) == ["bicubic", "carn_m"]


@pytest.mark.parametrize("tags, name", [
    ({"srbench.label": "ecdn", "srbench.weights": "ecdn_half"}, "ecdn (ecdn_half)"),
    ({"srbench.label": "ecdn", "srbench.weights": "ecdn", "srbench.inference": "+"}, "ecdn+"),
    ({"srbench.label": "EDSR", "srbench.weights": "sr-dir"}, "EDSR"),
    ({"srbench.label": "TinySR tiled", "srbench.inference": " [tile 64/8]"}, "TinySR tiled [tile 64-8]"),
    ({"srbench.label": "examples/tiny_sr.py:build", "srbench.weights": "run:0123abcd"},
     "examples-tiny_sr_py-build (run-0123abcd)"),
])
def test_model_names_are_the_tables_rows(tags, name):
    assert logged_models.model_name(tags) == name


def test_evaluation_names_carry_scale_bn_and_protocol():
    assert logged_models.evaluation_name("Set5", {"srbench.scale": "4"}) == "Set5 x4"
    assert logged_models.evaluation_name("Set14", {"srbench.scale": "2", "srbench.bn_mode": "batch",
                                                   "protocol.name": "paper_gray"}) == "Set14 x2 bn=batch paper_gray"
