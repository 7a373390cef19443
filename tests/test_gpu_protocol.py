"""TF32 as a protocol knob, the CUDA-only parts of a cell's key, and auto's GPU candidates: on a fake CUDA.

What these tests cannot prove: that cuDNN honours ``allow_tf32`` on a real Ampere+ GPU (only that srbench sets it
around every measured forward pass), real NCHW-vs-channels-last speed, or a real compile's cost on a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fake_cuda import FakeCuda
from srbench.core.errors import SrbenchError
from srbench.eval import runtimes as rt
from srbench.runtime_choice import selection
from srbench.eval.latency import Latency
from srbench.eval.protocol import PRESETS, Protocol, get_protocol


def test_tf32_is_a_declared_knob_off_by_default():
    assert all(p.tf32 is False for name, p in PRESETS.items() if name != "standard_tf32")
    assert get_protocol("standard_tf32").tf32 is True
    assert get_protocol("standard").as_dict()["tf32"] is False  # logged as the tag protocol.tf32
    with pytest.raises(SrbenchError, match="tf32"):
        Protocol(tf32="yes")


def test_tf32_enters_only_cuda_identities():
    """CPU (and MPS, and folder-scoring) identities hold exactly the knobs they held before TF32 existed."""
    before = {"name", "color", "border", "quantize", "lr_source", "ssim", "bn_mode", "gray", "double_scale",
              "lpips_input", "luma", "aggregate", "lr_modcrop"}  # the last three: protocol knobs of srbench explain
    protocol = get_protocol("standard")
    assert set(protocol.identity("cpu")) == before == set(protocol.identity(None)) == set(protocol.identity("mps"))
    assert set(protocol.identity("cuda")) == before | {"tf32"}


def test_measurement_sets_tf32_per_the_protocol(monkeypatch):
    """cuDNN's and cuBLAS's TF32 flags are off during a standard-protocol measurement on CUDA and restored after;
    on with standard_tf32. Cannot prove: that a real GPU's kernels then compute in IEEE float32."""
    from srbench.eval.device import cuda_math

    FakeCuda(count=1).install(monkeypatch)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)  # torch's default for convolutions
    seen = []
    with cuda_math(torch.device("cuda", 0), tf32=get_protocol("standard").tf32):
        seen.append((torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32))
    with cuda_math(torch.device("cuda", 0), tf32=get_protocol("standard_tf32").tf32):
        seen.append((torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32))
    assert seen == [(False, False), (True, True)]
    assert torch.backends.cudnn.allow_tf32 is True


def _recording_tf32(monkeypatch, module) -> list[bool]:
    """Fake CUDA, cuDNN's TF32 on (torch's default), and ``module.forward_pass`` replaced by a nearest upscaler that
    records the TF32 flag each pass runs under (the returned list)."""
    FakeCuda(count=1).install(monkeypatch)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    flags = []

    def forward(model, lr_u8, scale, device="cpu"):
        flags.append(torch.backends.cudnn.allow_tf32)
        up = np.repeat(np.repeat(np.asarray(lr_u8, np.float32) / 255, scale, 0), scale, 1)
        return (up if up.ndim == 3 else np.stack([up] * 3, -1)), 0.0

    monkeypatch.setattr(module, "forward_pass", forward)
    return flags


def test_evaluate_runs_the_network_with_tf32_off(monkeypatch, tiny_dataset):
    """The quality pass itself (srbench.eval.evaluate) runs under the protocol's TF32 setting on CUDA (fake)."""
    from srbench.eval import evaluate as ev

    flags = _recording_tf32(monkeypatch, ev)
    ev.evaluate(None, str(tiny_dataset), 2, get_protocol("standard"), device=torch.device("cuda", 0), progress=False)
    assert flags and not any(flags)


def test_cuda_cells_key_the_gpu_and_cudnn_and_cpu_cells_do_not(monkeypatch):
    """The cell identity of a CUDA cell names the GPU model, capability, CUDA and cuDNN versions (a new cuDNN can
    pick other kernels); a CPU cell's identity has no such field. Cannot prove: real device names."""
    from srbench.track import benchmark as runner

    FakeCuda(count=2).install(monkeypatch)
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    tags = runner.run_tags(torch.device("cuda", 1), get_protocol("standard"))
    assert tags["srbench.cuda.gpu"] == "Fake GPU 1" and tags["srbench.cuda.cudnn"] == "90100"
    assert tags["srbench.cuda.capability"] == "9.0" and tags["protocol.tf32"] == "False"
    cpu_tags = runner.run_tags(torch.device("cpu"), get_protocol("standard"))
    assert not any(k.startswith("srbench.cuda.") for k in cpu_tags)


class Conv(nn.Module):
    """One 3x3 convolution and a pixel shuffle (x2): a network channels-last and NCHW compute alike."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.scales = (2,)

    def forward(self, x, scale):
        return torch.pixel_shuffle(self.conv(x), 2).clamp(0, 1)


def test_gpu_candidates_include_nchw_and_it_matches_eager():
    """On CUDA auto times NCHW eager beside channels-last (the CPU's measured choice); on CPU nothing changes.
    The NCHW runner's output equals eager's within float rounding (here on CPU)."""
    assert "eager_nchw" in selection.default_candidates(torch.device("cuda", 0))
    assert selection.default_candidates("cpu") == ("eager", "onnxruntime", "openvino")
    model = Conv()
    x = torch.rand(1, 3, 9, 11).contiguous(memory_format=torch.channels_last)
    nchw = rt.prepare_runtime(model, "eager_nchw", scale=2, bn_mode="eval", device="cpu")
    eager = rt.prepare_runtime(model, "eager", scale=2, bn_mode="eval", device="cpu")
    assert torch.allclose(nchw(x, 2), eager(x, 2), atol=1e-6)
    assert next(model.parameters()).is_contiguous(memory_format=torch.channels_last)  # eager's model untouched


def test_auto_counts_compiles_preparation(tmp_path, monkeypatch):
    """A compile that takes 60 s (fake clock) to save 5 ms a call loses to eager over a 100-call workload; with no
    preparation cost it would win. Cannot prove: real compile times on a GPU."""
    clock = {"t": 0.0}
    real_prepare = selection.prepare_runtime

    def prepare(model, runtime, **kw):
        if runtime == "compile":  # stands in for torch.compile: eager's runner, 60 s of (fake) preparation
            clock["t"] += 60.0
            runner = real_prepare(model, "eager", **kw)
            runner.name = "compile"
            return runner
        return real_prepare(model, runtime, **kw)

    monkeypatch.setattr(selection, "prepare_runtime", prepare)
    monkeypatch.setattr(selection, "perf_counter", lambda: clock["t"])
    monkeypatch.setattr(selection, "measure_latency", lambda runner, *a, **k: Latency(
        median_ms={"eager": 10.0, "compile": 5.0}[runner.name], iqr_ms=0.0, repeats=1, threads=1))
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    args = dict(scale=2, bn_mode="eval", device="cpu", weights_sha256=None, probe_lr_u8=lr, probe_hr_u8=None,
                candidates=("compile",), repeats=1)
    assert selection.select_runtime(Conv(), cache_dir=tmp_path / "a", **args).runtime == "eager"
    assert selection.select_runtime(Conv(), cache_dir=tmp_path / "b", workload_calls=100_000, **args).runtime == "compile"


def test_cell_identity_gains_cuda_fields_only_on_cuda(monkeypatch, tmp_path, benchmark_root):
    """The benchmark's cell identity (srbench.track.cell_plan.cell_identity): a CUDA cell's holds the GPU, capability,
    CUDA and cuDNN versions and the tf32 knob; a CPU cell's holds none of them and exactly its former fields.
    Cannot prove: real GPU names and versions."""
    from srbench.core.strict import from_mapping
    from srbench.track import cell_plan
    from srbench.track.experiment import Experiment

    FakeCuda(count=1).install(monkeypatch)
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    exp = from_mapping(Experiment, {"name": "t", "datasets": ["Set5"], "scales": [4], "models": [{"model": "bicubic"}]},
                       "test")
    cell = cell_plan.plan(exp)[0][0]
    protocol = get_protocol("standard")
    cpu = cell_plan.cell_identity(cell, protocol, torch.device("cpu"), exp)
    cuda = cell_plan.cell_identity(cell, protocol, torch.device("cuda", 0), exp)
    assert set(cuda) - set(cpu) == {"cuda"} and "tf32" in cuda["protocol"] and "tf32" not in cpu["protocol"]
    assert cuda["cuda"] == {"gpu": "Fake GPU 0", "capability": "9.0", "cuda": str(torch.version.cuda),
                            "cudnn": "90100"}
    assert set(cpu) == {"model", "group", "build", "weights", "weights_sha256", "scale", "protocol", "datasets",
                        "runtime", "measure", "device", "code", "environment", "crops", "metrics",
                        "input_range"}  # input_range: the field's models (issue #22), on every device


def test_explain_runs_the_network_with_tf32_off(monkeypatch, tiny_dataset):
    """srbench explain's passes (on a background thread) run under the protocol's TF32 setting on CUDA (fake), as
    evaluate's do, so its standard row is evaluate's number."""
    from srbench.eval import explain as ex

    flags = _recording_tf32(monkeypatch, ex)
    ex.explain_cell(lambda bn: None, str(tiny_dataset), 2, base=get_protocol("standard"), variants=[],
                    device=torch.device("cuda", 0), progress=False)
    assert flags and not any(flags)
    assert torch.backends.cudnn.allow_tf32 is True  # restored afterwards
