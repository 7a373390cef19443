"""The public API (``import srbench``): the same numbers as the CLI for a released checkpoint, scikit-image's numbers
for a hand-made module, the module left as it was found, the knobs checked, and the benchmark's metric names."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import srbench
from srbench.core.errors import SrbenchError


class Nearest(nn.Module):
    """A hand-made SR module: nearest-neighbour upsampling of the input (forward(x), one declared scale)."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scales = (scale,)
        self.gain = nn.Parameter(torch.ones(()))  # a parameter, so the module has a device

    def forward(self, x):
        return self.gain * torch.repeat_interleave(torch.repeat_interleave(x, self.scales[0], 2), self.scales[0], 3)


def _y(rgb_u8: np.ndarray) -> np.ndarray:
    """BT.601 luma on [0, 1] RGB, 16-235, by hand."""
    x = rgb_u8.astype(np.float64) / 255.0
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def test_released_checkpoint_matches_the_cli(benchmark_root):
    """srbench.evaluate("carn_m") and `srbench evaluate --model carn_m` (eager, the reference runtime): identical
    per-image numbers for the same cell."""
    api = srbench.evaluate("carn_m", "Set5", 4, runtime="eager", device="cpu")
    cli = subprocess.run([sys.executable, "-m", "srbench.cli", "evaluate", "--model", "carn_m", "--dataset", "Set5",
                          "--scale", "4", "--runtime", "eager", "--device", "cpu", "--json", "--no-progress"],
                         capture_output=True, text=True, check=True)
    (record,) = json.loads(cli.stdout)
    assert [(i.name, i.psnr, i.ssim) for i in api.images] == \
        [(i["name"], i["psnr"], i["ssim"]) for i in record["images"]]
    assert (api.psnr, api.ssim) == (record["psnr"], record["ssim"])
    assert api.weights_sha256 == record["weights_sha256"] and api.runtime == record["runtime"] == "eager"
    assert api.dataset_id == "Set5" and len(api.fingerprint) == 64 and api.protocol.name == "standard"
    loaded = srbench.load("carn_m")  # the same network as a module: the same numbers through the module path
    again = srbench.evaluate(loaded, "Set5", 4)
    assert (again.psnr, again.ssim) == (api.psnr, api.ssim) and again.weights_sha256 == api.weights_sha256


@pytest.mark.parametrize("border", [None, 0])
def test_hand_made_module_matches_scikit_image(benchmark_root, border):
    """A nearest-neighbour module on Set5 x2: every image's PSNR/SSIM against scikit-image on the same output,
    computed from the files with PIL and numpy only."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    knobs = {} if border is None else {"border": border}
    result = srbench.evaluate(Nearest(2), "Set5", 2, **knobs)
    crop = 2 if border is None else border
    assert len(result.images) == 5
    for image in result.images:
        hr = np.array(Image.open(benchmark_root / "Set5" / "HR" / f"{image.name}.png").convert("RGB"))
        lr = np.array(Image.open(benchmark_root / "Set5" / "LR_bicubic" / "X2" / f"{image.name}x2.png")
                      .convert("RGB"))
        hr = hr[:hr.shape[0] // 2 * 2, :hr.shape[1] // 2 * 2]
        sr = lr.repeat(2, axis=0).repeat(2, axis=1)
        a, b = _y(sr), _y(hr)
        if crop:
            a, b = a[crop:-crop, crop:-crop], b[crop:-crop, crop:-crop]
        assert image.psnr == pytest.approx(peak_signal_noise_ratio(b, a, data_range=255), abs=1e-9)
        ref = structural_similarity(b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                    data_range=255)
        assert image.ssim == pytest.approx(ref, abs=1e-6)
    assert result.psnr == pytest.approx(np.mean([i.psnr for i in result.images]), abs=1e-12)


def test_module_comes_back_as_it_was(benchmark_root):
    """Training flags (per submodule), BatchNorm statistics and momentum, and the device are restored; batch mode
    uses per-image statistics without touching the running ones."""
    net = nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3), nn.Upsample(scale_factor=2))
    net.scales = (2,)
    net.train()
    net[0].eval()  # a mixed state, as a training loop may leave it
    before = {k: v.clone() for k, v in net.state_dict().items()}
    flags = [m.training for m in net.modules()]
    r_eval = srbench.evaluate(net, "Set5", 2)
    r_batch = srbench.evaluate(net, "Set5", 2, bn_mode="batch")
    assert [m.training for m in net.modules()] == flags and net[1].momentum == 0.1
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert r_eval.psnr != r_batch.psnr and r_batch.protocol.bn_mode == "batch"
    assert next(net.parameters()).device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_module_stays_on_its_device(benchmark_root):
    net = Nearest(2).cuda().train()
    on_gpu = srbench.evaluate(net, "Set5", 2)
    on_cpu = srbench.evaluate(net, "Set5", 2, device="cpu")
    assert next(net.parameters()).is_cuda and net.training and on_gpu.device.startswith("cuda")
    assert on_gpu.psnr == pytest.approx(on_cpu.psnr, abs=1e-9)


def test_knobs_are_checked():
    with pytest.raises(SrbenchError, match="unknown evaluate\\(\\) knob 'bn_mod'.*did you mean 'bn_mode'"):
        srbench.evaluate(Nearest(2), "Set5", 2, bn_mod="batch")
    with pytest.raises(SrbenchError, match="only for a model named by the registry"):
        srbench.evaluate(Nearest(2), "Set5", 2, weights="carn_m")
    with pytest.raises(SrbenchError, match="only for a model named by the registry"):
        srbench.evaluate(Nearest(2), "Set5", 2, runtime="openvino")
    with pytest.raises(SrbenchError, match="cannot run x4"):
        srbench.evaluate(Nearest(2), "Set5", 4)
    with pytest.raises(SrbenchError, match="unknown protocol preset"):
        srbench.evaluate(Nearest(2), "Set5", 2, protocol="standrad")
    with pytest.raises(SrbenchError, match="model must be"):
        srbench.evaluate(42, "Set5", 2)


def test_score_agrees_with_evaluate(benchmark_root, tmp_path):
    """The outputs saved through ``on_image`` and scored as a folder give the evaluation's numbers."""
    def save(name, sr):
        Image.fromarray(sr).save(tmp_path / f"{name}_x2_SR.png")

    evaluated = srbench.evaluate(Nearest(2), "Set5", 2, on_image=save)
    scored = srbench.score(tmp_path, "Set5", 2, label="nearest")
    assert [(i.name, i.psnr, i.ssim) for i in scored.images] == [(i.name, i.psnr, i.ssim) for i in evaluated.images]
    assert scored.model == "nearest" and scored.weights == "sr-dir" and scored.fingerprint == evaluated.fingerprint


def test_complexity_against_the_papers():
    """CARN-M: 412K parameters and 32.5 G Mult-Adds at x4 for a 720p output (the CARN paper's Table; its released
    file has 414,811 with the mean shifts)."""
    c = srbench.complexity("carn_m", 4)
    assert round(c.mult_adds_g, 1) == 32.5 and round(c.params / 1000) in (412, 415)
    assert c.params_at_scale < c.params_effective <= c.params
    tiny = srbench.complexity(nn.Conv2d(3, 12, 3, padding=1), 2, out_height=64, out_width=64)  # forward(x) only
    assert tiny.params == 3 * 12 * 9 + 12 and tiny.mult_adds_g == pytest.approx(32 * 32 * 12 * 27 / 1e9)


def test_log_validation_uses_the_benchmark_names(benchmark_root, mlflow_uri):
    import mlflow

    result = srbench.evaluate(Nearest(2), "Set5", 2)
    mlflow.set_tracking_uri(mlflow_uri)
    with pytest.raises(SrbenchError, match="no active MLflow run"):
        srbench.log_validation(result, step=1)
    with mlflow.start_run() as run:
        srbench.log_validation(result, step=100)
        srbench.log_validation(result, step=200, scale_suffix=True)
    data = mlflow.MlflowClient(mlflow_uri).get_run(run.info.run_id).data
    assert data.metrics["psnr_y.Set5"] == result.psnr and data.metrics["ssim_y.Set5"] == result.ssim
    assert data.metrics["psnr_y.Set5.x2"] == result.psnr
    assert data.tags["srbench.dataset_fingerprint.Set5"] == result.fingerprint and data.tags["protocol.color"] == "y"
    history = mlflow.MlflowClient(mlflow_uri).get_metric_history(run.info.run_id, "psnr_y.Set5")
    assert [m.step for m in history] == [100]


def test_package_root_is_lazy():
    """`import srbench.core...` does not import torch or MLflow; `srbench.evaluate` is the API's."""
    code = "import sys, srbench.core.errors; print('torch' in sys.modules, 'mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    from srbench import api
    assert srbench.evaluate is api.evaluate and "evaluate" in dir(srbench)
    with pytest.raises(AttributeError):
        srbench.no_such_thing  # noqa: B018


def test_training_loop_example(benchmark_root, mlflow_uri, tmp_path):
    """examples/train_loop.py: a few steps on Set5 crops, validated and logged through the API."""
    import importlib.util

    from srbench.core.store import REPO_ROOT

    import mlflow

    spec = importlib.util.spec_from_file_location("train_loop_example", REPO_ROOT / "examples" / "train_loop.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    mlflow.set_tracking_uri(mlflow_uri)
    logged = example.main(["--train-dir", str(benchmark_root / "Set5" / "HR"), "--steps", "4", "--val-every", "2",
                           "--patch", "32", "--batch-size", "2"])
    runs = mlflow.search_runs(experiment_names=["train_loop_example"], output_format="list")
    (run,) = runs
    history = mlflow.MlflowClient(mlflow_uri).get_metric_history(run.info.run_id, "psnr_y.Set5")
    assert [m.step for m in history] == [2, 4] and history[-1].value == logged["psnr_y.Set5"]
    assert 20 < logged["psnr_y.Set5"] < 45 and "ssim_y.Set5" in run.data.metrics
