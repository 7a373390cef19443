"""The docs' "Benchmark your own model" (docs/your-model.md), end to end: examples/tiny_sr.yaml benchmarked (an external model, its
self-ensemble and a tiled run beside bicubic), a folder of SR images scored into the same experiment, and the report's
paper table showing every one of them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srbench.cli import main
from srbench.eval.cell import CostSettings
from srbench.track import tracking
from srbench.track.experiment import load_experiment
from srbench.track.benchmark import run_benchmark

REPO = Path(__file__).resolve().parent.parent


def test_docs_show_the_example():
    section = (REPO / "docs" / "your-model.md").read_text()
    assert (REPO / "examples" / "tiny_sr.yaml").read_text().strip() in section  # the complete file, verbatim
    assert "examples/tiny_sr.py:build" in section and "srbench score" in section


@pytest.mark.slow
def test_tiny_sr_example_end_to_end(tmp_path, monkeypatch, benchmark_root, mlflow_uri):
    monkeypatch.chdir(REPO)  # the example names its model relative to the repository root, as docs/your-model.md runs it
    exp = load_experiment("examples/tiny_sr.yaml")
    exp = dataclasses.replace(exp, device="cpu", measure=CostSettings(warmup=0, repeats=1, memory=False,
                                                                      out_height=64, out_width=64))
    outcomes = run_benchmark(exp, tracking_uri=mlflow_uri, progress=False)
    psnr = {o.label: o.metrics["psnr_y.Set5"] for o in outcomes}
    assert [o.status for o in outcomes] == ["computed"] * 4
    assert sorted(psnr) == ["TinySR", "TinySR tiled", "TinySR+", "bicubic"]
    # untrained, TinySR is torch's bicubic interpolation; the ensemble and 64-px tiles (overlap 8 > its 3 + 2 px
    # receptive field) change nothing beyond float rounding
    assert abs(psnr["TinySR+"] - psnr["TinySR"]) < 1e-3 and abs(psnr["TinySR tiled"] - psnr["TinySR"]) < 1e-6
    assert outcomes[1].metrics["params"] == 15_383 and outcomes[2].metrics["mult_adds_g"] > \
        7.9 * outcomes[1].metrics["mult_adds_g"]

    sr_dir = tmp_path / "OtherCodebase"
    sr_dir.mkdir()
    for name in ("baby", "bird", "butterfly", "head", "woman"):
        sr = np.array(Image.open(benchmark_root / "Set5" / "HR" / f"{name}.png").convert("RGB"))
        sr[2:-2:7, 2:-2:5] //= 2  # "another codebase's output": HR with every 35th measured pixel darkened
        Image.fromarray(sr).save(sr_dir / f"{name}_x2_SR.png")
    assert main(["score", "--sr-dir", str(sr_dir), "--dataset", "Set5", "--scale", "2", "--experiment", "tiny_sr",
                 "--tracking-uri", mlflow_uri]) == 0

    from srbench.report import build
    out = tmp_path / "reports"
    build.generate(experiment="tiny_sr", uri=mlflow_uri, out=out, dataset="Set5", scale=2, n_resamples=200)
    table = (out / "tables" / "paper_table.md").read_text()
    rows = {re.split(r"\s*\|\s*", line.strip("| "))[0] for line in table.splitlines() if line.startswith("|")}
    assert {"bicubic", "TinySR", "TinySR+", "TinySR tiled", "OtherCodebase"} <= rows
    client = tracking.client(mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("tiny_sr").experiment_id], "tags.`srbench.kind` = 'cell'")
    tags = {r.data.tags["srbench.label"]: r.data.tags for r in runs}
    assert tags["TinySR+"]["srbench.ensemble"] == "x8" and tags["TinySR tiled"]["srbench.tile"] == "64"
    assert tags["TinySR"]["srbench.model_code"] == tags["TinySR+"]["srbench.model_code"]
    assert len({t["srbench.cell_key"] for t in tags.values()}) == 5
