"""The challenge table (bench/report/challenge.py) on hand-made cells, and the whole path (experiment with a
reference and a score -> benchmark -> MLflow -> report table and figure) on CARN-M and ECDN-M."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from srbench.eval.challenge_score import FORMULAS, Gate
from srbench.report.challenge import challenge_rows, challenge_table

SPEC = {"formula": FORMULAS["ntire2024"], "reference": "ref", "dataset": "Set14", "gate": Gate(margin_db=0.1)}


def _cell(label, runtime_ms, flops_g, params, psnr, **setting):
    base = {"device_name": "cpu X", "runtime": "eager", "threads": "2", "scale": 4, "parent": "p1"}
    base.update(setting)
    return ({"run_id": label, "label": label, "runtime_mean_ms": runtime_ms, "runtime_median_ms": runtime_ms,
             "runtime_peak_mem_mb": 10.0, "params": params, "flops_g_fvcore": flops_g, "activations_m": 1.0,
             "conv2d_calls": 3, **base},
            {"run_id": label, "dataset": "Set14", "psnr": psnr, "ssim": 0.8})


def _frames(*specs):
    cells, results = zip(*(_cell(*s[:5], **(s[5] if len(s) > 5 else {})) for s in specs))
    return pd.DataFrame(results), pd.DataFrame(cells)


def test_scores_gate_and_comparability():
    results, cells = _frames(("ref", 10.0, 20.0, 300_000, 28.00),
                             ("fast", 5.0, 20.0, 600_000, 27.95),                    # passes the gate (27.90)
                             ("weak", 1.0, 1.0, 1_000, 27.80),                       # under the gate
                             ("other", 5.0, 20.0, 300_000, 28.5, {"threads": "1"}),  # another thread count
                             ("earlier", 5.0, 20.0, 300_000, 28.5, {"parent": "p0"}))  # another invocation
    rows, notes = challenge_rows(results, cells, SPEC)
    by = {r["label"]: r for r in rows}
    assert by["ref"]["terms"]["score"] == pytest.approx(math.e ** 2)
    # 0.7·e^1 + 0.15·e^2 + 0.15·e^4, by hand: 11.200878
    assert by["fast"]["terms"]["score"] == pytest.approx(11.200878, abs=1e-6)
    assert "terms" not in by["weak"] and "terms" not in by["other"] and "terms" not in by["earlier"]
    assert (by["ref"]["rank"], by["fast"]["rank"], by["weak"]["rank"]) == (1, 2, None)
    assert any("weak" in n and "gate" in n for n in notes) and any("other" in n and "threads" in n for n in notes)
    assert any("earlier" in n and "invocation" in n for n in notes)
    table = challenge_table(rows, SPEC, "challenge_t")
    assert any("not comparable" in h for _, h in table.columns)
    assert any("Reference: ref" in n for n in table.notes) and any("Device: cpu X" in n for n in table.notes)


def test_whole_path_on_srbench_models(tiny_dataset, mlflow_uri, tmp_path):
    from srbench.report.build import generate
    from srbench.track.experiment import load_experiment
    from srbench.track.benchmark import run_benchmark

    path = tmp_path / "ntire.yaml"
    path.write_text(f"""name: ntire
protocol: ntire_esr
datasets: ["{tiny_dataset}"]
scales: [4]
device: cpu
runtime: eager
metrics: [psnr, ssim]
measure: {{latency: false, memory: true, dataset_runs: 2, profile_height: 32, profile_width: 32}}
reference: carn_m
score: {{formula: ntire2024, psnr_margin_db: 5.0}}
models:
  - {{model: carn_m, weights: carn_m}}
  - {{model: ecdn_m, weights: ecdn_m}}
""")
    run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False)
    # `make report` (the default experiment, absent here) renders the `ntire` experiment's challenge section
    report = generate(uri=mlflow_uri, out=tmp_path / "reports", n_resamples=100)
    table = (tmp_path / "reports" / "tables" / "challenge_ntire.csv").read_text()
    assert "carn_m" in table and "ecdn_m" in table
    frame = pd.read_csv(tmp_path / "reports" / "tables" / "challenge_ntire.csv", comment="#")
    ref = frame[frame["model"] == "carn_m"].iloc[0]
    assert ref["score_ntire2024"] == pytest.approx(math.e ** 2) and ref["rank"] in (1, 2)
    assert (tmp_path / "reports" / "figures" / "score_vs_psnr_ntire.png").is_file()
    assert any("challenge" in s.title.lower() for s in report.sections)
