"""Checkpoints as other toolkits save them (srbench.models.weights.unwrap_checkpoint), --weights-key / weights_key,
and single-scale state_dicts loaded from a path with a declared scale."""

from __future__ import annotations

import json

import pytest
import torch

from srbench.cli import main
from srbench.core.errors import SrbenchError
from srbench.eval.weights import load_eval_model, resolve_weights
from srbench.models import create_model
from srbench.models.weights import CATALOGUE, load_checkpoint, weights_file


@pytest.fixture(scope="module")
def carn_m_state() -> dict:
    path = weights_file(CATALOGUE["carn_m"])
    return torch.load(path, map_location="cpu", weights_only=True)


def _save(tmp_path, name: str, obj) -> str:
    path = tmp_path / name
    torch.save(obj, path)
    return str(path)


def _equal(model: torch.nn.Module, state: dict) -> bool:
    own = model.state_dict()
    return own.keys() == state.keys() and all(torch.equal(own[k], v) for k, v in state.items())


@pytest.mark.parametrize("layout,key", [
    ("params", "params"), ("params_ema", "params_ema"), ("state_dict", "state_dict"), ("model", "model"),
    ("net", "net"),
])
def test_common_layouts_load_with_a_note(tmp_path, carn_m_state, capsys, layout, key):
    path = _save(tmp_path, f"{layout}.pth", {layout: carn_m_state, "iter": 5000, "optimizer_note": "sgd"})
    model = load_checkpoint(create_model("carn_m"), path)
    assert _equal(model, carn_m_state)
    err = capsys.readouterr().err
    assert f"entry {key!r}" in err and path in err


def test_data_parallel_prefix_is_removed(tmp_path, carn_m_state, capsys):
    wrapped = {"state_dict": {f"module.{k}": v for k, v in carn_m_state.items()}}
    model = load_checkpoint(create_model("carn_m"), _save(tmp_path, "dp.pth", wrapped))
    assert _equal(model, carn_m_state)
    assert "'module.' prefix" in capsys.readouterr().err
    bare = {f"module.{k}": v for k, v in carn_m_state.items()}  # a bare DataParallel state_dict, too
    assert _equal(load_checkpoint(create_model("carn_m"), _save(tmp_path, "dp2.pth", bare)), carn_m_state)


def test_several_candidates_need_a_key(tmp_path, carn_m_state):
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in carn_m_state.items()}
    path = _save(tmp_path, "basicsr.pth", {"params": carn_m_state, "params_ema": ema})
    with pytest.raises(SrbenchError) as exc:
        load_checkpoint(create_model("carn_m"), path)
    message = str(exc.value)
    assert path in message and "params, params_ema" in message and "--weights-key" in message
    assert "\n" not in message
    assert _equal(load_checkpoint(create_model("carn_m"), path, key="params_ema"), ema)
    assert _equal(load_checkpoint(create_model("carn_m"), path, key="params"), carn_m_state)


def test_unknown_layout_names_the_top_level_keys(tmp_path, carn_m_state):
    path = _save(tmp_path, "odd.pth", {"generator": carn_m_state, "epoch": 3})
    with pytest.raises(SrbenchError) as exc:
        load_checkpoint(create_model("carn_m"), path)
    assert "top-level keys: generator, epoch" in str(exc.value) and path in str(exc.value)
    assert _equal(load_checkpoint(create_model("carn_m"), path, key="generator"), carn_m_state)
    with pytest.raises(SrbenchError, match="no entry 'gen'"):
        load_checkpoint(create_model("carn_m"), path, key="gen")
    with pytest.raises(SrbenchError, match="'epoch' is not a state_dict"):
        load_checkpoint(create_model("carn_m"), path, key="epoch")
    with pytest.raises(SrbenchError, match="plain state_dict"):
        load_checkpoint(create_model("carn_m"), weights_file(CATALOGUE["carn_m"]), key="params")


def test_single_scale_state_dict_from_a_path_with_declared_scale(tmp_path):
    torch.manual_seed(0)
    single = create_model("carn_m", scales=4)
    path = _save(tmp_path, "carn_m_x4.pth", single.state_dict())
    weights = resolve_weights(path, "carn_m")
    model = load_eval_model("carn_m", weights, device="cpu", scales=[4])
    assert model.scales == (4,) and _equal(model, single.state_dict())
    with pytest.raises(SrbenchError) as exc:  # not declared: the multi-scale build does not fit, and says what to do
        load_eval_model("carn_m", weights, device="cpu", scales=[2, 4])
    assert "declare its scale" in str(exc.value) and path in str(exc.value)
    # a multi-scale file evaluated at one scale still loads multi-scale
    multi = load_eval_model("carn_m", resolve_weights(str(weights_file(CATALOGUE["carn_m"])), "carn_m"),
                            device="cpu", scales=[4])
    assert multi.scales == (2, 3, 4)


@pytest.mark.slow
def test_weights_key_on_the_command_line(tmp_path, carn_m_state, tiny_dataset, capsys):
    ema = {k: v * 0.5 if v.is_floating_point() and v.dim() == 4 else v for k, v in carn_m_state.items()}
    path = _save(tmp_path, "both.pth", {"params": carn_m_state, "params_ema": ema})
    base = ["evaluate", "--model", "carn_m", "--dataset", str(tiny_dataset), "--scale", "2", "--json",
            "--no-progress"]
    assert main(base + ["--weights", path]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "params, params_ema" in err and "\n" not in err
    assert main(base + ["--weights", path, "--weights-key", "params"]) == 0
    keyed = json.loads(capsys.readouterr().out)[0]
    assert main(base + ["--weights", "carn_m"]) == 0
    released = json.loads(capsys.readouterr().out)[0]
    assert keyed["psnr"] == pytest.approx(released["psnr"], abs=1e-9)
    assert main(base + ["--weights", path, "--weights-key", "params_ema"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["psnr"] < released["psnr"] - 1  # the other entry really loaded


@pytest.mark.slow
def test_weights_key_in_an_experiment_entry(tmp_path, carn_m_state, tiny_dataset, mlflow_uri):
    from srbench.data.datasets import dataset_id
    from srbench.track import tracking
    from srbench.track.experiment import load_experiment, with_weights_key
    from srbench.track.benchmark import run_benchmark

    path = _save(tmp_path, "ema.pth", {"params": carn_m_state, "params_ema": carn_m_state})
    exp_file = tmp_path / "k.yaml"
    exp_file.write_text(f"""
name: k
datasets: [{tiny_dataset}]
scales: [2]
device: cpu
measure: {{latency: false, memory: false, out_height: 32, out_width: 32}}
models:
  - {{model: carn_m, weights: {path}, weights_key: params_ema}}
  - {{model: carn_m, weights: carn_m}}
""")
    exp = load_experiment(exp_file)
    assert with_weights_key(exp, "params").models[0].weights_key == "params"
    assert with_weights_key(exp, "params").models[1].weights_key is None  # catalogue weights are not files to unwrap
    outcomes = run_benchmark(exp, tracking_uri=mlflow_uri, progress=False)
    assert [o.status for o in outcomes] == ["computed", "computed"]
    key = f"psnr_y.{dataset_id(tiny_dataset)}"
    assert outcomes[0].metrics[key] == pytest.approx(outcomes[1].metrics[key], abs=1e-9)
    client = tracking.client(mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("k").experiment_id], "tags.`srbench.kind` = 'cell'")
    tags = {r.data.tags["srbench.weights"]: r.data.tags for r in runs}
    assert tags["ema"]["srbench.weights_key"] == "params_ema" and "srbench.weights_key" not in tags["carn_m"]
    assert len({r.data.tags["srbench.cell_key"] for r in runs}) == 2
