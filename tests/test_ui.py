"""The MLflow UI set-up of ``srbench ui``: experiment kind, the saved cell-runs view and the printed links (fast, on a
private store), and an opt-in end-to-end check that starts the real server.

The end-to-end test runs only with ``SRBENCH_UI_TEST=1`` (never in CI: it starts the MLflow server, ~0.5 GB and
10-40 s on the project's 2-core machine): it starts ``srbench ui`` on a free port against a store with a few cell
runs and asserts, through the server, that the HTML root loads and that ``/api/2.0/mlflow/runs/search`` lists the
cell runs with their names and dataset inputs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _fake_cells(uri: str) -> str:
    """An experiment made without the kind tag (as older srbench did), with two cell runs and a training run."""
    from srbench.track import tracking
    client = tracking.client(uri)
    exp_id = client.create_experiment("benchmark")
    for name, metrics in (("bicubic x4 bn=eval standard", {"psnr_y.Set5": 28.4, "ssim_y.Set5": 0.81,
                                                           "lpips.Set5": 0.34, "params": 0.0}),
                          ("carn_m (carn_m) x4 bn=batch ecdn_report", {"psnr_rgb.Set14": 74.4, "psnr_y.Set5": 31.9,
                                                                       "mult_adds_g": 32.5, "forward_s.Set5": 1.0})):
        run = client.create_run(exp_id, run_name=name, tags={"srbench.kind": "cell"})
        for k, v in metrics.items():
            client.log_metric(run.info.run_id, k, v)
        client.set_terminated(run.info.run_id)
    other = client.create_experiment("training")
    client.create_run(other, tags={"srbench.kind": "train"})
    client.create_experiment("not_ours")
    return exp_id


def test_prepare_ui_tags_experiments_and_writes_the_cell_view(mlflow_uri):
    from srbench.track import tracking
    from srbench.track.ui_meta import VIEW_TAG, prepare_ui, ui_links
    exp_id = _fake_cells(mlflow_uri)
    client = tracking.client(mlflow_uri)
    assert "mlflow.experimentKind" not in client.get_experiment(exp_id).tags
    found = prepare_ui(client)
    training_id = client.get_experiment_by_name("training").experiment_id
    assert found == [("benchmark", exp_id, True), ("training", training_id, False)]
    tags = client.get_experiment(exp_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert client.get_experiment(training_id).tags["mlflow.experimentKind"] == "custom_model_development"
    assert "mlflow.experimentKind" not in client.get_experiment_by_name("not_ours").tags   # no srbench runs
    view = json.loads(tags[VIEW_TAG])
    assert view["name"] == "srbench: cell runs" and isinstance(view["createdAt"], int)
    state = json.loads(view["state"])
    assert state["searchFilter"] == "tags.`srbench.kind` = 'cell'"
    assert state["orderByKey"] == "tags.`mlflow.runName`" and state["orderByAsc"] is True
    # Dataset, then per dataset (Set5 before Set14) PSNR, SSIM, LPIPS, then the cost figures; forward_s left out
    assert state["selectedColumns"] == ["attributes.`Dataset`", "metrics.`psnr_y.Set5`", "metrics.`ssim_y.Set5`",
                                        "metrics.`lpips.Set5`", "metrics.`psnr_rgb.Set14`", "metrics.`params`",
                                        "metrics.`mult_adds_g`"]
    links = ui_links("http://127.0.0.1:5000", found)
    assert links[0] == "experiments: http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"
    assert links[1] == (f"benchmark: http://127.0.0.1:5000/#/experiments/{exp_id}/runs?viewStateShareKey=srbench-cells"
                        "&workflowType=machine_learning")
    assert links[2] == f"training: http://127.0.0.1:5000/#/experiments/{training_id}/runs?workflowType=machine_learning"


# ------------------------------------------------------------------------------------------ opt-in: the real server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: dict | None = None, timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                 headers={"Content-Type": "application/json"} if data is not None else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read()


@pytest.mark.skipif(os.environ.get("SRBENCH_UI_TEST") != "1",
                    reason="starts the MLflow server; set SRBENCH_UI_TEST=1 to run it (never in CI)")
def test_srbench_ui_lists_the_cell_runs(tmp_path, tiny_dataset, mlflow_uri):
    from srbench.data.datasets import dataset_fingerprint, dataset_id
    from srbench.track.experiment import load_experiment
    from srbench.track.benchmark import run_benchmark
    exp_file = tmp_path / "ui.yaml"
    exp_file.write_text(f"""
name: benchmark
datasets: [{tiny_dataset}]
scales: [4]
device: cpu
metrics: [psnr, ssim, lpips]
measure: {{latency: false, memory: false, out_height: 48, out_width: 48}}
models:
  - {{model: bicubic}}
  - {{model: carn_m, weights: carn_m}}
""")
    outcomes = run_benchmark(load_experiment(exp_file), tracking_uri=mlflow_uri, progress=False)
    assert sorted(o.status for o in outcomes) == ["computed", "computed"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "ui.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "srbench.cli", "ui", "--port", str(port), "--tracking-uri",
                                 mlflow_uri], cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                if _get(f"{base}/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.time() < deadline, "the UI did not become healthy in 120 s: " + log.read_text()[-2000:]
            time.sleep(1)
        status, html = _get(f"{base}/")
        assert status == 200 and b"<html" in html.lower() and b"mlflow" in html.lower()
        _, body = _get(f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name=benchmark")
        exp = json.loads(body)["experiment"]
        tags = {t["key"]: t["value"] for t in exp.get("tags", [])}
        assert tags["mlflow.experimentKind"] == "custom_model_development"
        assert "metrics.`lpips." in tags["mlflow.sharedViewState.srbench-cells"]
        _, body = _get(f"{base}/api/2.0/mlflow/runs/search",
                       {"experiment_ids": [exp["experiment_id"]], "filter": "tags.`srbench.kind` = 'cell'"})
        runs = json.loads(body)["runs"]
        names = sorted(r["info"]["run_name"] for r in runs)
        assert names == ["bicubic x4 bn=eval standard", "carn_m (carn_m) x4 bn=eval standard"]
        key = dataset_id(tiny_dataset)
        digest = dataset_fingerprint(tiny_dataset, 4, "file")[:16]
        for r in runs:
            inputs = r["inputs"]["dataset_inputs"]
            assert [(i["dataset"]["name"], i["dataset"]["digest"]) for i in inputs] == [(key, digest)]
            assert f"lpips.{key}" in {m["key"] for m in r["data"]["metrics"]}
        printed = log.read_text()
        assert f"benchmark: {base}/#/experiments/{exp['experiment_id']}/runs?viewStateShareKey=srbench-cells" in printed
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (srbench, mlflow and uvicorn: ENVIRONMENT.md), SIGKILL what is left after
    30 s."""
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.time() + 30
    while time.time() < deadline:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
