"""Ablation sweeps: every point trained, evaluated and logged with its swept values; finished points are skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srbench.track import tracking
from srbench.train.ablate import load_ablation, points, run_ablation
from srbench.core.errors import SrbenchError

REPO = Path(__file__).resolve().parent.parent


def _ablation(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "abl.yaml"
    path.write_text(f"""
name: abl_test
base: {REPO / 'experiments' / 'train' / 'smoke.yaml'}
budget: two steps
out_root: {tmp_path / 'runs'}
set: {{max_steps: 2, val_every: 2, ckpt_every: 1, train_data: {REPO / 'data' / 'store' / 'train' / 'T91'}}}
evaluate: {{datasets: [Set5], scale: 2}}
measure: {{latency: false, memory: false}}
{body}
""")
    return path


def test_grid_and_points_expand_in_order(tmp_path):
    abl = load_ablation(_ablation(tmp_path, "grid: {model: [carn_m, ecdn_m], group: [2, 4]}\n"
                                            "points: [{loss: MSE}]"))
    assert points(abl) == [{"model": "carn_m", "group": 2}, {"model": "carn_m", "group": 4},
                           {"model": "ecdn_m", "group": 2}, {"model": "ecdn_m", "group": 4}, {"loss": "MSE"}]


def test_unknown_swept_key_is_an_error(tmp_path):
    with pytest.raises(SrbenchError, match="'gruop' is not a training config field.*did you mean 'group'"):
        load_ablation(_ablation(tmp_path, "grid: {gruop: [1, 2]}"))


def test_sweep_logs_points_and_skips_finished(tmp_path, mlflow_uri, benchmark_root, monkeypatch):
    path = _ablation(tmp_path, "grid: {group: [2, 4]}")
    abl = load_ablation(path)
    first = run_ablation(abl, progress=False, only=["group=2"])
    assert [o.status for o in first] == ["computed"]
    # an interrupted sweep: the rest is done on the next call, the finished point is not redone
    second = run_ablation(abl, progress=False)
    assert [(o.label, o.status) for o in second] == [("group=2", "cached"), ("group=4", "computed")]
    client = tracking.client(mlflow_uri)
    exp = client.get_experiment_by_name("abl_test")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 2
    for run in runs:
        assert run.data.tags["srbench.sweep"] == "abl_test" and run.data.tags["srbench.point_done"] == "1"
        swept = json.loads(run.data.tags["srbench.sweep_point"])
        assert run.data.params["group"] == str(swept["group"])
        assert 0 < run.data.metrics["psnr_y.Set5"] < 60 and run.data.metrics["params"] > 0
    by_group = {r.data.params["group"]: r.data.metrics["params"] for r in runs}
    assert by_group["2"] > by_group["4"], "smaller groups mean more parameters"

    def no_training(*args, **kwargs):
        raise AssertionError("a finished point was trained again")

    monkeypatch.setattr("srbench.train.trainer.train", no_training)
    assert [o.status for o in run_ablation(abl, progress=False)] == ["cached", "cached"]


def test_point_interrupted_after_training_finishes_on_rerun(tmp_path, mlflow_uri, benchmark_root, monkeypatch):
    abl = load_ablation(_ablation(tmp_path, "grid: {group: [4]}"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("srbench.track.runner.measure_and_log", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_ablation(abl, progress=False)
    monkeypatch.undo()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    outcome, = run_ablation(abl, progress=False)
    assert outcome.status == "computed" and outcome.metrics["psnr_y.Set5"] > 0
    client = tracking.client(mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("abl_test").experiment_id])
    assert len(runs) == 1 and runs[0].data.tags["srbench.point_done"] == "1"
