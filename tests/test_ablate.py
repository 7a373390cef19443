"""Ablation sweeps: every (point, seed) trained, evaluated and logged with its swept values and seed; finished ones are
skipped, interrupted ones resume."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from srbench.core.errors import SrbenchError
from srbench.core.store import train_root
from srbench.models import create_model
from srbench.track import tracking
from srbench.train.ablate import load_ablation, points, run_ablation
from conftest import deliver_signal

REPO = Path(__file__).resolve().parent.parent


def _ablation(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "abl.yaml"
    path.write_text(f"""
name: abl_test
base: {REPO / 'experiments' / 'train' / 'smoke.yaml'}
budget: two steps
out_root: {tmp_path / 'runs'}
set: {{max_steps: 2, val_every: 2, ckpt_every: 1, train_data: {train_root() / 'T91'}}}
evaluate: {{datasets: [Set5], scale: 2}}
measure: {{latency: false, memory: false}}
{body}
""")
    return path


def _independent_psnr_y(client, run_id: str, group: int, tmp_path: Path, benchmark_root: Path) -> float:
    """Set5 x2 Y-PSNR of the run's logged final weights, measured here with scikit-image: the shipped MATLAB LR read
    with Pillow, the network's output rounded to 8 bits, BT.601 Y by ``skimage.color.rgb2ycbcr``, 2 px border,
    ``peak_signal_noise_ratio``; the mean over the five images (what ``psnr_y.Set5`` means)."""
    import numpy as np
    import torch
    from PIL import Image
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio

    from srbench.models import create_model

    weights = client.download_artifacts(run_id, "weights/final.pth", str(tmp_path / f"final-{run_id}"))
    model = create_model("carn_m", scales=2, group=group, weights=weights)
    values = []
    for hr_path in sorted((benchmark_root / "Set5" / "HR").glob("*.png")):
        with Image.open(hr_path) as hr_im, Image.open(benchmark_root / "Set5" / "LR_bicubic" / "X2" /
                                                      f"{hr_path.stem}x2.png") as lr_im:
            hr, lr = np.asarray(hr_im.convert("RGB")), np.asarray(lr_im.convert("RGB"))
        x = torch.from_numpy(lr.astype(np.float32) / 255).permute(2, 0, 1)[None]
        with torch.inference_mode():
            y = model(x, 2)[0].permute(1, 2, 0).clamp(0, 1).double().numpy()
        sr = np.round(y * 255).astype(np.uint8)
        hr = hr[: sr.shape[0], : sr.shape[1]]
        values.append(peak_signal_noise_ratio(rgb2ycbcr(hr)[2:-2, 2:-2, 0], rgb2ycbcr(sr)[2:-2, 2:-2, 0],
                                              data_range=255))
    return float(np.mean(values))


def test_grid_and_points_expand_in_order(tmp_path):
    abl = load_ablation(_ablation(tmp_path, "grid: {model: [carn_m, ecdn_m], group: [2, 4]}\n"
                                            "points: [{loss: MSE}]"))
    assert points(abl) == [{"model": "carn_m", "group": 2}, {"model": "carn_m", "group": 4},
                           {"model": "ecdn_m", "group": 2}, {"model": "ecdn_m", "group": 4}, {"loss": "MSE"}]


def test_unknown_swept_key_is_an_error(tmp_path):
    with pytest.raises(SrbenchError, match="'gruop' is not a training config field.*did you mean 'group'"):
        load_ablation(_ablation(tmp_path, "grid: {gruop: [1, 2]}"))


@pytest.mark.slow
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
        network = create_model("carn_m", scales=2, group=swept["group"])
        assert run.data.metrics["params"] == sum(p.numel() for p in network.parameters())
    by_group = {r.data.params["group"]: r for r in runs}
    assert by_group["2"].data.metrics["params"] > by_group["4"].data.metrics["params"], "smaller groups: more params"
    logged = by_group["4"].data.metrics["psnr_y.Set5"]
    assert logged == pytest.approx(_independent_psnr_y(client, by_group["4"].info.run_id, 4, tmp_path, benchmark_root),
                                   abs=1e-3)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished point was trained again")

    monkeypatch.setattr("srbench.train.trainer.train", no_training)
    assert [o.status for o in run_ablation(abl, progress=False)] == ["cached", "cached"]


@pytest.mark.slow
def test_point_interrupted_after_training_finishes_on_rerun(tmp_path, mlflow_uri, benchmark_root, monkeypatch):
    abl = load_ablation(_ablation(tmp_path, "grid: {group: [4]}"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("srbench.track.cell_log.measure_and_log", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_ablation(abl, progress=False)
    monkeypatch.undo()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    outcome, = run_ablation(abl, progress=False)
    assert outcome.status == "computed"
    client = tracking.client(mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("abl_test").experiment_id])
    assert len(runs) == 1 and runs[0].data.tags["srbench.point_done"] == "1"
    # the score of the finished training, measured independently
    assert outcome.metrics["psnr_y.Set5"] == pytest.approx(
        _independent_psnr_y(client, runs[0].info.run_id, 4, tmp_path, benchmark_root), abs=1e-3)


def test_seed_in_grid_is_refused_and_seeds_are_checked(tmp_path):
    with pytest.raises(SrbenchError, match="seeds: \\[0, 1, 2\\]"):
        load_ablation(_ablation(tmp_path, "grid: {seed: [0, 1]}"))
    with pytest.raises(SrbenchError, match="seeds must be distinct"):
        load_ablation(_ablation(tmp_path, "grid: {group: [4]}\nseeds: [1, 1]"))


@pytest.mark.slow
def test_seeds_run_every_point_once_per_seed_and_resume(tmp_path, mlflow_uri, benchmark_root, monkeypatch):
    """seeds: [0, 1]: one run per seed with the seed as param and tag; a finished (point, seed) is skipped; a run
    killed mid-training resumes its checkpoint and MLflow run on the next call."""
    import signal

    from srbench.train.data import Prefetcher

    abl = load_ablation(_ablation(tmp_path, "grid: {group: [4]}\nseeds: [0, 1]"))
    abl = dataclasses.replace(abl, set={**abl.set, "max_steps": 3})
    first = run_ablation(abl, progress=False, only=["group=4,seed=0"])
    assert [(o.label, o.status, o.seed) for o in first] == [("group=4,seed=0", "computed", 0)]

    original, calls = Prefetcher.next_batch, {"n": 0}

    def sigint_on_second(self):  # Ctrl-C while seed 1 fetches its 2nd batch: step 2 is checkpointed, run KILLED
        calls["n"] += 1
        if calls["n"] == 2:
            deliver_signal(signal.SIGINT)
        return original(self)

    monkeypatch.setattr(Prefetcher, "next_batch", sigint_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_ablation(abl, progress=False)
    monkeypatch.undo()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    second = run_ablation(abl, progress=False)
    assert [(o.label, o.status) for o in second] == [("group=4,seed=0", "cached"), ("group=4,seed=1", "computed")]

    client = tracking.client(mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("abl_test").experiment_id])
    assert len(runs) == 2  # the killed run was continued, not duplicated
    by_seed = {r.data.params["seed"]: r for r in runs}
    assert set(by_seed) == {"0", "1"}
    for seed, run in by_seed.items():
        assert run.data.tags["srbench.sweep_seed"] == seed and run.data.tags["srbench.point_done"] == "1"
        assert json.loads(run.data.tags["srbench.sweep_point"]) == {"group": 4}  # the seed is not part of the point
    assert by_seed["1"].data.tags["srbench.resumed_at"] == "2"
    assert by_seed["0"].data.metrics["psnr_y.Set5"] != by_seed["1"].data.metrics["psnr_y.Set5"]  # other init
    assert [o.status for o in run_ablation(abl, progress=False)] == ["cached", "cached"]


@pytest.mark.slow
def test_ablate_on_a_benchmark_file_runs_it_as_a_benchmark(tmp_path, mlflow_uri, monkeypatch):
    """`srbench ablate FILE` with a benchmark experiment (how `make ablate` runs the BatchNorm ablation) takes every
    benchmark option's default: it once crashed with an AttributeError when the benchmark command gained options."""
    from srbench.cli import main
    from srbench.track import tracking
    exp = tmp_path / "bn_tiny.yaml"
    exp.write_text("name: bn_tiny\nprotocol: standard\ndatasets: [Set5]\nscales: [4]\ndevice: cpu\n"
                   "measure: {latency: false, memory: false}\nmodels:\n  - {model: bicubic}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["ablate", str(exp), "--no-progress"]) == 0
    assert (tmp_path / "reports" / "local" / "bn_tiny.md").is_file()   # the git-ignored default
    client = tracking.client(mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("bn_tiny").experiment_id], "tags.`srbench.kind` = 'cell'")
    assert [r.info.status for r in runs] == ["FINISHED"]
    # published bicubic Set5 x4 (CARN paper): 28.42 dB; our MATLAB-compatible bicubic lands within 0.02 dB of it
    assert abs(runs[0].data.metrics["psnr_y.Set5"] - 28.42) < 0.02
