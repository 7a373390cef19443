"""Seed statistics of ablations: the t-interval against hand-computed values, and the ablation table / report
sentences on a small fake MLflow store with three seeds per point (expected numbers computed by hand below)."""

from __future__ import annotations

import csv
import json
import math
import os

import numpy as np
import pytest

from srbench.report.seedstats import mean_std, paired_seed_difference, t_interval

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

T975 = {1: 12.7062, 2: 4.3027}  # Student t quantiles 0.975 for 1 and 2 degrees of freedom (printed tables)


def test_t_interval_matches_hand_computation():
    # differences 0.3, 0.1, 0.2: mean 0.2, sample sd 0.1, half width t(0.975, 2) * 0.1 / sqrt(3) = 0.24841
    ci = t_interval([0.3, 0.1, 0.2])
    half = T975[2] * 0.1 / math.sqrt(3)
    assert ci.mean == pytest.approx(0.2) and ci.n == 3
    assert ci.low == pytest.approx(0.2 - half, abs=1e-4) and ci.high == pytest.approx(0.2 + half, abs=1e-4)
    assert not ci.excludes_zero and ci.text() == "+0.20 [-0.05, +0.45]"
    # two values 1 and 2: mean 1.5, sd 0.70711, half width 12.7062 * 0.70711 / sqrt(2) = 6.3531
    ci = t_interval([1.0, 2.0])
    assert (ci.low, ci.high) == pytest.approx((1.5 - 6.3531, 1.5 + 6.3531), abs=1e-3)
    assert t_interval([0.4]) is None  # one seed: no interval


def test_paired_by_seed_and_mean_std():
    point = {0: 30.5, 1: 30.6, 2: 30.7, 3: 99.0}  # seed 3 has no baseline run: left out
    base = {0: 30.0, 1: 30.0, 2: 30.0}
    ci = paired_seed_difference(point, base)
    half = T975[2] * 0.1 / math.sqrt(3)
    assert ci.n == 3 and ci.mean == pytest.approx(0.6)
    assert (ci.low, ci.high) == pytest.approx((0.6 - half, 0.6 + half), abs=1e-4) and ci.excludes_zero
    assert ci.text().endswith("*")
    mean, std, n = mean_std([1.0, 2.0, 3.0, 4.0, None])
    assert (mean, n) == (2.5, 4) and std == pytest.approx(math.sqrt(5 / 3))
    assert mean_std([7.0]) == (7.0, None, 1)


NAMES = ["baby", "bird", "butterfly", "head", "woman"]
BASE = [30.0, 31.0, 32.0, 33.0, 34.0]                 # per-image PSNR of the baseline, seed 0 (mean 32.0)
BASE_SHIFT = {0: 0.0, 1: 0.2, 2: -0.2}               # baseline seed s: BASE + shift -> means 32.0, 32.2, 31.8
POINTS = {"L1": {0: -0.5, 1: -0.4, 2: -0.9},         # shifts; minus the baseline, per seed: -0.5, -0.6, -0.7
          "Charbonnier": {0: 0.3, 1: 0.3, 2: 0.0}}   # minus the baseline, per seed: +0.3, +0.1, +0.2


def _run(c, exp, tmp, loss, seed, shift, start, baseline=False):
    tags = {"srbench.kind": "train", "srbench.sweep": "ablation_loss", "srbench.budget": "3 steps",
            "srbench.point_key": f"{loss}{seed}", "srbench.point_done": "1", "srbench.sweep_seed": str(seed),
            "srbench.sweep_point": json.dumps({"loss": loss}), "srbench.baseline": str(baseline).lower()}
    rid = c.create_run(exp, start_time=1_700_000_000_000 + start, tags=tags).info.run_id
    c.log_param(rid, "loss", loss)
    c.log_param(rid, "seed", str(seed))
    psnr = [v + shift for v in BASE]
    c.log_metric(rid, "psnr_y.Set5", float(np.mean(psnr)))
    c.log_metric(rid, "ssim_y.Set5", 0.9 + shift / 100)
    c.log_metric(rid, "params", 1000.0)
    path = tmp / rid / "Set5.csv"
    path.parent.mkdir(parents=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "psnr", "ssim", "forward_s", "gray"])
        for n, p in zip(NAMES, psnr):
            w.writerow([n, p, 0.9, 0.01, False])
    c.log_artifact(rid, str(path), "per_image")
    c.set_terminated(rid, "FINISHED", end_time=1_700_000_000_000 + start + 10)
    return rid


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory):
    from srbench.track.tracking import client, get_or_create_experiment

    tmp = tmp_path_factory.mktemp("seeds")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    c = client(uri)
    exp = get_or_create_experiment(c, "ablation_loss")
    start = 0
    for seed, shift in BASE_SHIFT.items():
        _run(c, exp, tmp, "SmoothL1", seed, shift, start := start + 1, baseline=True)
        for loss, delta in POINTS.items():
            _run(c, exp, tmp, loss, seed, delta[seed], start := start + 1)
    _run(c, exp, tmp, "L1", 0, 99.0, -5)  # an older run of (L1, seed 0): the newest run per seed wins
    return uri


def test_ablation_table_over_seeds(seeded_store):
    from srbench.report import collect, tables

    store = collect.Store(seeded_store)
    try:
        frame = collect.read_training(store, "ablation_loss", sweeps=True)
        t = tables.ablation_table("ablation_loss", "ablation_loss", frame, n_resamples=500)
    finally:
        store.close()
    df = t.csv.set_index("point")
    base, l1, charb = df.loc["loss=SmoothL1"], df.loc["loss=L1"], df.loc["loss=Charbonnier"]
    assert bool(base["baseline"]) and base["n_runs"] == 3 and base["seeds"] == "0 1 2"
    # baseline means 32.0, 32.2, 31.8: mean 32.0, sd 0.2
    assert base["psnr_Set5"] == pytest.approx(32.0) and base["psnr_std_Set5"] == pytest.approx(0.2)
    # L1: 31.5, 31.6, 31.1 -> mean 31.4, sd 0.26458; per-seed differences -0.5, -0.6, -0.7
    assert l1["psnr_Set5"] == pytest.approx(31.4) and l1["psnr_std_Set5"] == pytest.approx(math.sqrt(0.07))
    half = T975[2] * 0.1 / math.sqrt(3)
    assert l1["Set5_t_delta"] == pytest.approx(-0.6) and l1["Set5_t_n"] == 3
    assert (l1["Set5_t_low"], l1["Set5_t_high"]) == pytest.approx((-0.6 - half, -0.6 + half), abs=1e-4)
    # Charbonnier: differences +0.3, +0.1, +0.2 -> the interval [-0.048, +0.448] includes 0
    assert (charb["Set5_t_low"], charb["Set5_t_high"]) == pytest.approx((0.2 - half, 0.2 + half), abs=1e-4)
    # the image-level bootstrap of the seed-averaged per-image PSNR: a constant shift, a zero-width interval
    assert l1["Set5_delta"] == pytest.approx(-0.6) and l1["Set5_ci_low"] == pytest.approx(-0.6)
    row = next(r for r in t.rows if r[0] == "loss=L1")
    assert "31.40 ± 0.26" in row and "-0.60 [-0.85, -0.35]* (n=3)" in row
    results = [n for n in t.notes if n.startswith("Result on Set5")]
    assert len(results) == 1
    assert "significantly below its baseline: loss=L1 (-0.60 dB [-0.85, -0.35], n=3)" in results[0]
    assert "not distinguishable from its baseline (the interval includes 0): loss=Charbonnier" in results[0]
    assert "significantly above" not in results[0]


def test_report_plots_seed_spread_and_states_results(seeded_store, tmp_path, monkeypatch):
    from srbench.report import build, figures

    seen = []
    real = figures.ablation_category_plot
    monkeypatch.setattr(figures, "ablation_category_plot", lambda pts, *a, **k: seen.append(pts) or real(pts, *a, **k))
    build.generate(uri=seeded_store, out=tmp_path / "reports", n_resamples=200)
    by_label = {p["label"]: p for p in seen[0]}
    assert by_label["loss=SmoothL1"]["psnr"]["Set5"] == pytest.approx(32.0)
    assert by_label["loss=SmoothL1"]["psnr_std"]["Set5"] == pytest.approx(0.2)
    readme = (tmp_path / "reports" / "README.md").read_text()
    assert "significantly below its baseline: loss=L1" in readme
    assert "mean over 3 seed(s) per point with ±1 standard deviation error bars" in readme


def test_ablation_plot_point_takes_latency_from_the_seed_that_measured_it():
    """Latency and memory are measured on a point's first seed only: the plot's point carries that seed's latency
    (it once read the newest run's metrics, which have none, and the efficiency panel lost its latency line)."""
    import pandas as pd

    from srbench.report.build import _ablation_plot_point
    runs = pd.DataFrame({"seed": [0, 1, 2], "metrics_": [
        {"psnr_y.Set5": 34.0, "latency_ms": 600.0, "params": 259_739.0},
        {"psnr_y.Set5": 34.5, "params": 259_739.0},
        {"psnr_y.Set5": 35.0, "params": 259_739.0}]})
    point = {"point": "group=4", "values": {"group": 4}, "series": "model=ecdn_m", "runs": runs,
             "metrics_": runs["metrics_"].iloc[2], "is_baseline": True}
    p = _ablation_plot_point(point, "group", ["Set5"])
    assert p["latency_ms"] == 600.0 and p["x"] == 4
    assert p["psnr"]["Set5"] == pytest.approx(34.5) and p["psnr_std"]["Set5"] == pytest.approx(0.5)  # by hand
