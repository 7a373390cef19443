"""The benchmark runner against a private MLflow store: one run per cell, resume after kill -9, concurrency.

Uses a tiny dataset cut from Set5 (its LR generated) and a 48x48 latency input, so each cell takes about a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from srbench.data.datasets import dataset_id
from srbench.track import tracking
from srbench.track.experiment import load_experiment
from srbench.track.benchmark import run_benchmark

REPO = Path(__file__).resolve().parent.parent


def _experiment(tmp_path: Path, dataset: Path, models: str, name: str = "t") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""
name: {name}
datasets: [{dataset}]
scales: [2, 3, 4]
device: cpu
measure: {{latency: true, warmup: 0, repeats: 2, memory: true, out_height: 48, out_width: 48}}
models:
{models}
""")
    return path


def _cells(uri: str, name: str):
    client = tracking.client(uri)
    exp = client.get_experiment_by_name(name)
    return client.search_runs([exp.experiment_id], filter_string="tags.`srbench.kind` = 'cell'")


@pytest.mark.slow
def test_one_finished_run_per_cell_and_rerun_reuses(tmp_path, tiny_dataset, mlflow_uri):
    path = _experiment(tmp_path, tiny_dataset, "  - {model: bicubic}\n  - {model: carn_m, weights: carn_m}\n")
    outcomes = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False)
    assert sorted(o.status for o in outcomes) == ["computed"] * 6
    runs = _cells(mlflow_uri, "t")
    assert len(runs) == 6 and all(r.info.status == "FINISHED" for r in runs)
    key = dataset_id(tiny_dataset)  # a folder outside the store: Tiny-<8 hex of its path>
    assert key.startswith("Tiny-") and len(key) == len("Tiny-") + 8
    for run in runs:
        m, t = run.data.metrics, run.data.tags
        assert {f"psnr_y.{key}", f"ssim_y.{key}", "params", "mult_adds_g", "latency_ms"} <= set(m)
        assert m[f"n_images.{key}"] == 3
        assert t["protocol.border"] == "scale" and t["protocol.bn_mode"] == "eval" and t["srbench.torch"]
        if t["srbench.model"] == "carn_m":
            assert m["params"] == 414_811
            assert t["srbench.weights_sha256"].startswith("d48a759a")
    # the learned model beats bicubic on every cell
    psnr = {(r.data.tags["srbench.model"], r.data.tags["srbench.scale"]): r.data.metrics[f"psnr_y.{key}"] for r in runs}
    for scale in "234":
        assert psnr[("carn_m", scale)] > psnr[("bicubic", scale)]
    client = tracking.client(mlflow_uri)
    parent = client.get_run(runs[0].data.tags["mlflow.parentRunId"])
    assert parent.data.metrics["between_cells.prepare_inputs_s"] >= 0  # logged apart from the cells
    again = run_benchmark(load_experiment(path), tracking_uri=mlflow_uri, progress=False)
    assert sorted(o.status for o in again) == ["cached"] * 6
    assert len(_cells(mlflow_uri, "t")) == 6


def test_a_cell_another_experiment_finished_is_reused(tmp_path, tiny_dataset, mlflow_uri):
    """`make zoo` declares bicubic and CARN-M exactly as the default benchmark does: those cells are reused across
    experiments (the key names everything that changes a number, not the experiment), and only new cells run."""
    first = _experiment(tmp_path, tiny_dataset, "  - {model: bicubic}\n", name="first")
    run_benchmark(load_experiment(first), tracking_uri=mlflow_uri, progress=False)
    first_ids = {r.info.run_id for r in _cells(mlflow_uri, "first")}
    second = _experiment(tmp_path, tiny_dataset, "  - {model: bicubic}\n  - {model: carn_m, weights: carn_m}\n",
                         name="second")
    outcomes = run_benchmark(load_experiment(second), tracking_uri=mlflow_uri, progress=False)
    by_model = {(o.label, o.status) for o in outcomes}
    assert by_model == {("bicubic", "cached"), ("carn_m", "computed")}
    assert {o.run_id for o in outcomes if o.status == "cached"} == first_ids
    assert len(_cells(mlflow_uri, "second")) == 3  # only CARN-M's three scales were logged again


def test_a_cell_an_experiment_created_meanwhile_finished_is_reused(tmp_path, tiny_dataset, mlflow_uri, monkeypatch):
    """`make zoo` started beside a running `make benchmark`: the zoo experiment did not exist when the benchmark began,
    yet a cell the zoo finished meanwhile is reused by the benchmark, not run a second time."""
    import srbench.track.cell_log as cell_log

    late = _experiment(tmp_path, tiny_dataset, "  - {model: bicubic}\n", name="meanwhile")
    real, started = cell_log.measure_cell, []

    def measure_while_another_experiment_runs(*args, **kwargs):
        if not started:  # during the first cell of "early", "meanwhile" is created and finishes bicubic's cells
            started.append(True)
            run_benchmark(load_experiment(late), tracking_uri=mlflow_uri, progress=False)
        return real(*args, **kwargs)

    monkeypatch.setattr(cell_log, "measure_cell", measure_while_another_experiment_runs)
    early = _experiment(tmp_path, tiny_dataset, "  - {model: carn_m, weights: carn_m}\n  - {model: bicubic}\n",
                        name="early")
    outcomes = run_benchmark(load_experiment(early), tracking_uri=mlflow_uri, progress=False)
    assert {(o.label, o.status) for o in outcomes} == {("carn_m", "computed"), ("bicubic", "cached")}
    assert {o.run_id for o in outcomes if o.label == "bicubic"} == {r.info.run_id for r in _cells(mlflow_uri, "meanwhile")}


def _cli(path: Path, uri: str) -> list[str]:
    return [sys.executable, "-m", "srbench.cli", "benchmark", str(path), "--tracking-uri", uri, "--no-progress",
            "--summary", str(path.with_suffix(".md"))]


@pytest.mark.slow
def test_killed_benchmark_resumes_with_every_cell_once(tmp_path, tiny_dataset, mlflow_uri):
    models = "".join(f"  - {{model: {m}, weights: {m}}}\n" for m in ("carn_m", "ecdn_m", "ecdn"))
    path = _experiment(tmp_path, tiny_dataset, "  - {model: bicubic}\n" + models, name="k")
    proc = subprocess.Popen(_cli(path, mlflow_uri), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 240
    killed = False
    while time.time() < deadline and proc.poll() is None:
        try:
            done = [r for r in _cells(mlflow_uri, "k") if r.info.status == "FINISHED"]
        except Exception:  # the experiment may not exist yet
            done = []
        if len(done) >= 4:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.2)
    proc.wait(timeout=60)
    assert killed, "the benchmark finished before it could be killed; make the cells slower"
    assert len([r for r in _cells(mlflow_uri, "k") if r.info.status == "FINISHED"]) < 12
    result = subprocess.run(_cli(path, mlflow_uri), cwd=REPO, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-2000:]
    runs = _cells(mlflow_uri, "k")
    keys = [r.data.tags["srbench.cell_key"] for r in runs]
    assert len(runs) == 12 and len(set(keys)) == 12, "every cell exactly once"
    assert all(r.info.status == "FINISHED" for r in runs)
    assert "reused from MLflow" in result.stdout


@pytest.mark.slow
def test_two_processes_share_one_sqlite_store(tmp_path, tiny_dataset, mlflow_uri):
    a = _experiment(tmp_path, tiny_dataset, "  - {model: bicubic}\n  - {model: carn_m, weights: carn_m}\n", "c")
    b = _experiment(tmp_path, tiny_dataset, "  - {model: ecdn_m, weights: ecdn_m}\n", "c2")
    b.write_text(b.read_text().replace("name: c2", "name: c"))  # same MLflow experiment, different cells
    procs = [subprocess.Popen(_cli(p, mlflow_uri), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for p in (a, b)]
    for proc in procs:
        out, err = proc.communicate(timeout=400)
        assert proc.returncode == 0, err[-2000:]
    runs = _cells(mlflow_uri, "c")
    assert len(runs) == 9 and all(r.info.status == "FINISHED" for r in runs)
    assert {r.data.tags["srbench.model"] for r in runs} == {"bicubic", "carn_m", "ecdn_m"}
