"""Wrong numbers are never logged: broken weights, weights files that share a name, and measurements taken under other
libraries or on another CPU (issue 11, items 1, 2 and 13).

Where a logged score is compared with ``evaluate()`` of the same weights, the test checks consistency (each weights
file gets its own network; nothing is mixed up), not accuracy: both run the same scoring code. The scores themselves
are checked independently by tests/test_calibration.py (released checkpoints against calibration.md's externally
measured values) and tests/test_metrics.py, tests/test_score.py (scikit-image)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy
import pytest
import torch

from srbench.core.errors import SrbenchError
from srbench.data.datasets import dataset_id
from srbench.eval import device as device_mod
from srbench.eval.device import describe_device
from srbench.eval.environment import measurement_environment
from srbench.eval.evaluate import evaluate
from srbench.eval.protocol import get_protocol
from srbench.eval.weights import load_eval_model, resolve_weights
from srbench.models import create_model, set_bn_mode
from srbench.models.weights import CATALOGUE, weights_file
from srbench.track import tracking
from srbench.track.cells import cell_key
from srbench.track.experiment import load_experiment
from srbench.track.cell_plan import cell_identity as _identity
from srbench.track.benchmark import plan, run_benchmark

CPU = torch.device("cpu")


def _store_file(name: str) -> Path:
    try:
        return weights_file(CATALOGUE[name])
    except SrbenchError as exc:
        pytest.skip(str(exc))


def _state(name: str) -> dict:
    return torch.load(_store_file(name), map_location="cpu", weights_only=True)


def _experiment(tmp_path: Path, dataset: Path, models: str, name: str = "t", runtime: str = "auto") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""
name: {name}
datasets: [{dataset}]
scales: [4]
device: cpu
runtime: {runtime}
measure: {{latency: false, memory: false}}
models:
{models}
""")
    return path


def _cell_runs(uri: str, name: str):
    client = tracking.client(uri)
    exp = client.get_experiment_by_name(name)
    return [] if exp is None else client.search_runs([exp.experiment_id],
                                                     filter_string="tags.`srbench.kind` = 'cell'")


# ------------------------------------------------------------------------------------- item 2: non-finite weights
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_checkpoint_is_refused_at_load(tmp_path, bad):
    state = _state("carn_m")
    state["upsample.up4.body.0.weight"][3, 5, 1, 1] = bad  # one value of one conv weight
    path = tmp_path / "diverged.pth"
    torch.save(state, path)
    with pytest.raises(SrbenchError) as err:
        load_eval_model("carn_m", resolve_weights(str(path), "carn_m"), device=CPU)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and "upsample.up4.body.0.weight" in msg and "1 of" in msg
    # the same file through create_model (the trainer's and the CLI's path) is refused the same way
    with pytest.raises(SrbenchError, match="NaN or Inf"):
        create_model("carn_m", weights=path)


def _broken(tmp_path: Path, name: str, key: str, value: float, fill: bool = False) -> Path:
    state = _state("carn_m")
    if fill:
        state[key].fill_(value)
    else:
        state[key].view(-1)[0] = value
    path = tmp_path / name
    torch.save(state, path)
    return path


def test_nan_checkpoint_gives_no_score_in_evaluate(tmp_path, tiny_dataset, capsys):
    from srbench.cli import main

    path = _broken(tmp_path, "carn_m.pth", "entry.weight", float("nan"))
    assert main(["evaluate", "--model", "carn_m", "--weights", str(path), "--dataset", str(tiny_dataset),
                 "--scale", "4", "--json", "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "carn_m.pth" in captured.err and "entry.weight" in captured.err
    assert "\n" not in captured.err.strip()


def test_finite_weights_with_non_finite_output_give_no_score(tmp_path, tiny_dataset):
    # every weight finite, but the exit convolution overflows float32: the output is Inf/NaN
    path = _broken(tmp_path, "overflow.pth", "exit.weight", 3e38, fill=True)
    model = load_eval_model("carn_m", resolve_weights(str(path), "carn_m"), device=CPU)
    protocol = get_protocol("standard")
    set_bn_mode(model, protocol.bn_mode)
    with pytest.raises(SrbenchError) as err:
        evaluate(model, str(tiny_dataset), 4, protocol, progress=False)
    assert "overflow.pth" in str(err.value) and "non-finite" in str(err.value) and "\n" not in str(err.value)


def test_broken_weights_never_give_a_finished_run(tmp_path, tiny_dataset, mlflow_uri):
    nan = _broken(tmp_path, "nan.pth", "entry.weight", float("nan"))
    exp = _experiment(tmp_path, tiny_dataset, f"  - {{model: carn_m, weights: {nan}}}\n", "broken")
    with pytest.raises(SrbenchError, match="entry.weight"):  # refused when loaded, before any cell run
        run_benchmark(load_experiment(exp), tracking_uri=mlflow_uri, progress=False)
    assert _cell_runs(mlflow_uri, "broken") == []
    overflow = _broken(tmp_path, "overflow.pth", "exit.weight", 3e38, fill=True)
    exp = _experiment(tmp_path, tiny_dataset, f"  - {{model: carn_m, weights: {overflow}}}\n", "broken")
    with pytest.raises(SrbenchError, match="overflow.pth.*non-finite"):  # found on the first image (auto's probe
        run_benchmark(load_experiment(exp), tracking_uri=mlflow_uri, progress=False)  # or the cell's first pass)
    runs = _cell_runs(mlflow_uri, "broken")
    assert all(r.info.status == "FAILED" for r in runs)  # at most the one cell run, never FINISHED
    assert not any(k.startswith("psnr") for r in runs for k in r.data.metrics)


# ---------------------------------------------------------------------- item 1: weights files that share a stem
@pytest.mark.slow
def test_weights_files_sharing_a_name_get_their_own_network(tmp_path, tiny_dataset, mlflow_uri):
    files = {}
    for folder, name in (("a", "carn_m"), ("b", "carn_m_half")):
        dest = tmp_path / folder / "carn_m.pth"
        dest.parent.mkdir()
        shutil.copyfile(_store_file(name), dest)
        files[folder] = dest
    exp = _experiment(tmp_path, tiny_dataset, "".join(f"  - {{model: carn_m, weights: {p}}}\n"
                                                      for p in files.values()), "stem",
                      runtime="eager")  # compared with eager evaluate() to 1e-9: auto may pick another runtime
    outcomes = run_benchmark(load_experiment(exp), tracking_uri=mlflow_uri, progress=False)
    assert [o.status for o in outcomes] == ["computed", "computed"]
    runs = {r.data.tags["srbench.weights_source"]: r for r in _cell_runs(mlflow_uri, "stem")}
    assert len(runs) == 2
    protocol = get_protocol("standard")
    psnr = {}
    for folder, path in files.items():
        run = runs[str(path)]
        assert run.info.status == "FINISHED"
        assert run.data.tags["srbench.weights_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        model = load_eval_model("carn_m", resolve_weights(str(path), "carn_m"), device=CPU)
        set_bn_mode(model, protocol.bn_mode)
        alone = evaluate(model, str(tiny_dataset), 4, protocol, progress=False)
        psnr[folder] = run.data.metrics[f"psnr_y.{dataset_id(tiny_dataset)}"]
        assert psnr[folder] == pytest.approx(alone.psnr, abs=1e-9), folder
    assert abs(psnr["a"] - psnr["b"]) > 1e-3  # two different networks, not one scored twice


# ------------------------------------------------------------ item 13: library versions and the CPU in the key
def _key(tmp_path: Path, dataset: Path) -> str:
    exp = load_experiment(_experiment(tmp_path, dataset, "  - {model: bicubic}\n", "key"))
    cells, _ = plan(exp)
    return cell_key(**_identity(cells[0], get_protocol("standard"), CPU, exp))


def _cpuinfo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"cpuinfo-{len(name)}"
    path.write_text(f"processor\t: 0\nvendor_id\t: Acme\nmodel name\t: {name}\nflags\t\t: fpu\n\n"
                    f"processor\t: 1\nmodel name\t: {name}\n")
    return path


def test_describe_device_names_the_cpu_model_and_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(device_mod, "CPUINFO", _cpuinfo(tmp_path, "Acme   Turbo 9000 @ 3.00GHz"))
    assert describe_device(CPU) == f"CPU Acme Turbo 9000 @ 3.00GHz ({torch.get_num_threads()} threads)"
    monkeypatch.setattr(device_mod, "CPUINFO", tmp_path / "missing")
    assert describe_device(CPU).startswith("CPU ") and "threads" in describe_device(CPU)


def test_environment_lists_the_libraries(monkeypatch):
    import PIL

    env = measurement_environment()
    assert env["torch"] == torch.__version__ and env["numpy"] == numpy.__version__ and env["pillow"] == PIL.__version__
    monkeypatch.setattr(numpy, "__version__", "0.0.1")
    assert measurement_environment()["numpy"] == "0.0.1"


@pytest.mark.parametrize("module,name", [(torch, "torch"), (numpy, "numpy")])
def test_cell_key_changes_with_a_library_version(tmp_path, tiny_dataset, monkeypatch, module, name):
    before = _key(tmp_path, tiny_dataset)
    assert _key(tmp_path, tiny_dataset) == before
    monkeypatch.setattr(module, "__version__", module.__version__ + ".post1")
    assert _key(tmp_path, tiny_dataset) != before


def test_cell_key_changes_with_a_runtime_version(tmp_path, tiny_dataset, monkeypatch):
    from srbench.eval import environment

    before = _key(tmp_path, tiny_dataset)
    monkeypatch.setattr(environment, "_runtime_version", lambda module, dists: f"{module}-9.9")
    assert _key(tmp_path, tiny_dataset) != before


def test_cell_key_changes_with_the_cpu_model(tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.setattr(device_mod, "CPUINFO", _cpuinfo(tmp_path, "Acme Turbo 9000"))
    first = _key(tmp_path, tiny_dataset)
    monkeypatch.setattr(device_mod, "CPUINFO", _cpuinfo(tmp_path, "Acme Turbo 9000 v2"))
    assert _key(tmp_path, tiny_dataset) != first
