"""Inference runtimes (srbench.eval.runtimes): the same numbers as eager on Set5, the graph cache, the gate and auto.

References: the eager PyTorch path (an independent implementation of the same network), calibration.md's Set5 means
(measured outside this project), hand-computed BatchNorm statistics in float64 and scikit-image's PSNR.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio
from torch import nn

from srbench.eval import runtimes as rt
from srbench.eval.evaluate import evaluate
from srbench.eval.protocol import Protocol, get_protocol
from srbench.eval.runtimes import (GateResult, Runner, RuntimeDeclined, RuntimeUnavailable, compare_outputs, fidelity_gate,
                            prepare_runtime)
from srbench.eval.runtimes import packages
from srbench.runtime_choice import selection
from srbench.runtime_choice.selection import select_runtime
from srbench.core.errors import SrbenchError
from srbench.data.datasets import load_samples
from srbench.models import create_model, set_bn_mode
from srbench.models.weights import get_weights

GRAPH_RUNTIMES = ("onnxruntime", "openvino")
# (weights, BN mode, scale): every released small model at x4 on the full Set5, plus x2 and x3 checks of ECDN-M (its
# up-and-down pass resizes by 1/scale inside the graph).
SET5_CELLS = [("carn_m", "eval", 4), ("ecdn", "eval", 4), ("ecdn", "batch", 4), ("ecdn_m", "eval", 4),
              ("ecdn_m", "batch", 4), ("ecdn_m", "batch", 2), ("ecdn_m", "eval", 3)]
# calibration.md, "Set5, mean PSNR / SSIM" (standard protocol, eval BN)
CALIBRATION = {("carn_m", 4): (31.883, 0.8910), ("ecdn", 4): (31.750, 0.8891)}
TINY_SHA = "0" * 63 + "1"


class Tiny(nn.Module):
    """A 2-conv x2 network with a BatchNorm: cheap to export and compile, and BN-mode sensitive."""

    arch = "tiny"
    scales = (2,)

    def __init__(self) -> None:
        super().__init__()
        with torch.random.fork_rng():  # the same weights every time, without touching the global generator
            torch.manual_seed(0)
            self.conv1 = nn.Conv2d(3, 8, 3, 1, 1)
            self.bn = nn.BatchNorm2d(8)
            self.conv2 = nn.Conv2d(8, 12, 3, 1, 1)
            self._randomise_bn()

    def _randomise_bn(self) -> None:
        with torch.no_grad():  # running statistics far from any image's own, so the BN mode shows
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.5, 2.0)
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.2, 0.2)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        return F.pixel_shuffle(self.conv2(F.relu(self.bn(self.conv1(x)))), scale) + 0.5


def _lr(h: int = 21, w: int = 26, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def released(benchmark_root):
    return {name: create_model(name, weights=name) for name in ("carn_m", "ecdn", "ecdn_m")}


@pytest.fixture(scope="module")
def graph_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def eager_results(released):
    """Eager Set5 results per cell, computed once for both graph runtimes."""
    results = {}
    for weights, bn_mode, scale in SET5_CELLS:
        runner = prepare_runtime(released[weights], "eager", scale=scale, bn_mode=bn_mode)
        results[(weights, bn_mode, scale)] = evaluate(runner, "Set5", scale, get_protocol("standard", bn_mode=bn_mode),
                                                      progress=False)
    return results


# ---------------------------------------------------------------------------------------------------------------
# Same numbers as eager


@pytest.mark.slow
@pytest.mark.parametrize("runtime", GRAPH_RUNTIMES)
@pytest.mark.parametrize("weights,bn_mode,scale", SET5_CELLS)
def test_set5_matches_eager(released, eager_results, graph_cache, weights, bn_mode, scale, runtime):
    """Each image within 0.002 dB PSNR of eager, the cell's mean SSIM within 0.00002 (the issue's 'same numbers')."""
    runner = prepare_runtime(released[weights], runtime, scale=scale, bn_mode=bn_mode, device="cpu",
                             weights_sha256=get_weights(weights).sha256, cache_dir=graph_cache)
    assert runner.name == runtime and runner.versions[runtime] and runner.versions["onnx"]
    got = evaluate(runner, "Set5", scale, get_protocol("standard", bn_mode=bn_mode), progress=False)
    ref = eager_results[(weights, bn_mode, scale)]
    assert [r.name for r in got.images] == [r.name for r in ref.images] and len(got.images) == 5
    for mine, theirs in zip(got.images, ref.images):
        assert mine.psnr == pytest.approx(theirs.psnr, abs=0.002), mine.name
    assert got.ssim == pytest.approx(ref.ssim, abs=0.00002)
    if bn_mode == "eval" and (weights, scale) in CALIBRATION:
        psnr, ssim = CALIBRATION[(weights, scale)]
        assert got.psnr == pytest.approx(psnr, abs=0.01)
        assert got.ssim == pytest.approx(ssim, abs=0.0002)


def test_set5_bn_modes_differ(released, eager_results):
    """The two BN modes give different numbers (so the batch-mode equality above is not vacuous)."""
    assert abs(eager_results[("ecdn", "eval", 4)].psnr - eager_results[("ecdn", "batch", 4)].psnr) > 0.05


def test_per_image_norm_is_batchnorm_in_batch_mode():
    """PerImageNorm equals set_bn_mode(..., 'batch') and the float64 formula with biased variance."""
    bn = Tiny().bn
    x = torch.randn(1, 8, 13, 17, generator=torch.Generator().manual_seed(1)) * 2 + 0.3
    expected_running = bn.running_mean.clone()
    with torch.no_grad():
        mine = rt.PerImageNorm(bn)(x)
        eager = set_bn_mode(nn.Sequential(bn), "batch")(x)
    assert torch.equal(bn.running_mean, expected_running)  # momentum 0: statistics untouched
    x64 = x.double().numpy()
    mean = x64.mean(axis=(0, 2, 3), keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    w = bn.weight.double().detach().numpy()[None, :, None, None]
    b = bn.bias.double().detach().numpy()[None, :, None, None]
    by_hand = (x64 - mean) / np.sqrt(var + bn.eps) * w + b
    assert np.abs(mine.numpy() - by_hand).max() < 1e-5
    assert (mine - eager).abs().max().item() < 1e-5
    with torch.no_grad():  # per-image statistics: an image is normalised alike whatever shares its batch
        pair = rt.PerImageNorm(bn)(torch.cat([x, 3 * x + 1]))
    assert (pair[:1] - mine).abs().max().item() < 1e-5


def test_batch_mode_graph_has_reductions_not_batchnorm(tmp_path):
    import onnx

    ops = {}
    for mode in ("eval", "batch"):
        runner = prepare_runtime(Tiny(), "onnxruntime", scale=2, bn_mode=mode, weights_sha256=TINY_SHA,
                                 cache_dir=tmp_path)
        ops[mode] = {node.op_type for node in onnx.load(runner.graph_path).graph.node}
    assert "ReduceMean" not in ops["eval"]  # running statistics: a BatchNormalization, or folded into the conv
    assert "ReduceMean" in ops["batch"] and "BatchNormalization" not in ops["batch"]


@pytest.mark.parametrize("runtime", GRAPH_RUNTIMES)
def test_dynamic_size_and_bn_modes_on_tiny(tmp_path, runtime):
    """One graph serves every image size; each BN mode matches eager in that mode (and the modes differ)."""
    model = Tiny()
    outputs = {}
    for mode in ("eval", "batch"):
        runner = prepare_runtime(model, runtime, scale=2, bn_mode=mode, weights_sha256=TINY_SHA, cache_dir=tmp_path)
        eager = prepare_runtime(model, "eager", scale=2, bn_mode=mode)
        for hw in ((21, 26), (9, 33)):
            x = _lr(*hw)
            y = runner(x, 2)
            assert tuple(y.shape) == (1, 3, 2 * hw[0], 2 * hw[1])
            assert (y - eager(x)).abs().max().item() < 1e-5
        outputs[mode] = runner(_lr())
    assert (outputs["eval"] - outputs["batch"]).abs().max().item() > 1e-2


def test_openvino_reports_f32_and_threads(tmp_path):
    """The plugin reports the f32 hint applied (numerically: bf16 would fail the 1e-5 checks above by ~1e-2)."""
    runner = prepare_runtime(Tiny(), "openvino", scale=2, bn_mode="eval", weights_sha256=TINY_SHA, cache_dir=tmp_path)
    assert "f32" in runner.detail and f"{torch.get_num_threads()} threads" in runner.detail


@pytest.mark.slow
def test_compile_matches_eager_on_tiny():
    """torch.compile (about 20 s: one mode only) in batch mode, the one with a graph rewrite, at two sizes."""
    model = Tiny()
    runner = prepare_runtime(model, "compile", scale=2, bn_mode="batch")
    eager = prepare_runtime(model, "eager", scale=2, bn_mode="batch")
    assert runner.name == "compile" and runner.versions["torch"]
    for hw in ((21, 26), (14, 11)):
        x = _lr(*hw).contiguous(memory_format=torch.channels_last)
        assert (runner(x) - eager(x)).abs().max().item() < 1e-5


# ---------------------------------------------------------------------------------------------------------------
# Declining


@pytest.mark.parametrize("runtime", ("compile", *GRAPH_RUNTIMES))
def test_bicubic_is_eager_only(tmp_path, runtime):
    model = create_model("bicubic")
    with pytest.raises(RuntimeDeclined, match="no parameters") as exc:
        prepare_runtime(model, runtime, scale=2, bn_mode="eval", weights_sha256=TINY_SHA, cache_dir=tmp_path)
    assert exc.value.runtime == runtime and "\n" not in str(exc.value)
    assert not list(tmp_path.iterdir())
    eager = prepare_runtime(model, "eager", scale=2, bn_mode="eval")
    assert tuple(eager(_lr(6, 7)).shape) == (1, 3, 12, 14)


@pytest.mark.parametrize("runtime", GRAPH_RUNTIMES)
def test_graph_runtimes_decline_non_cpu_devices(tmp_path, runtime):
    with pytest.raises(RuntimeDeclined, match="CPU only"):
        prepare_runtime(Tiny(), runtime, scale=2, bn_mode="eval", device="cuda", weights_sha256=TINY_SHA,
                        cache_dir=tmp_path)


@pytest.mark.parametrize("runtime", GRAPH_RUNTIMES)
def test_graph_runtimes_decline_without_a_weights_digest(tmp_path, runtime):
    """No sha256 to name the cached graph (e.g. weights only in memory): a decline, so auto falls back to eager."""
    with pytest.raises(RuntimeDeclined, match="sha256"):
        prepare_runtime(Tiny(), runtime, scale=2, bn_mode="eval", weights_sha256=None, cache_dir=tmp_path)


def test_missing_package_makes_runtime_unavailable(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` now raises ImportError
    packages.import_failure.cache_clear()
    try:
        assert "openvino" not in rt.available_runtimes() and "onnxruntime" in rt.available_runtimes()
        with pytest.raises(RuntimeUnavailable, match="openvino does not import"):
            prepare_runtime(Tiny(), "openvino", scale=2, bn_mode="eval", weights_sha256=TINY_SHA, cache_dir=tmp_path)
    finally:
        packages.import_failure.cache_clear()


def test_bad_weights_digest_is_a_one_line_error(tmp_path):
    with pytest.raises(SrbenchError, match="64 lowercase hex") as exc:
        prepare_runtime(Tiny(), "onnxruntime", scale=2, bn_mode="eval", weights_sha256="../x", cache_dir=tmp_path)
    assert "\n" not in str(exc.value)


# ---------------------------------------------------------------------------------------------------------------
# Graph cache


def test_graph_cache_is_reused_and_keyed(tmp_path):
    model = Tiny()
    first = prepare_runtime(model, "onnxruntime", scale=2, bn_mode="eval", weights_sha256=TINY_SHA,
                            cache_dir=tmp_path)
    assert first.exported and first.graph_path.is_file()
    name = first.graph_path.name
    assert TINY_SHA in name and "-x2-" in name and "-eval-" in name and rt.export_code_hash(model) in name
    stamp = first.graph_path.stat().st_mtime_ns
    second = prepare_runtime(model, "openvino", scale=2, bn_mode="eval", weights_sha256=TINY_SHA, cache_dir=tmp_path)
    assert not second.exported and second.graph_path == first.graph_path
    assert first.graph_path.stat().st_mtime_ns == stamp
    other = prepare_runtime(model, "onnxruntime", scale=2, bn_mode="batch", weights_sha256=TINY_SHA,
                            cache_dir=tmp_path)
    assert other.exported and other.graph_path != first.graph_path
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("damage", ("flip_byte", "truncate", "sidecar"))
def test_corrupt_cached_graph_is_exported_again(tmp_path, damage):
    model = Tiny()
    first = prepare_runtime(model, "onnxruntime", scale=2, bn_mode="batch", weights_sha256=TINY_SHA,
                            cache_dir=tmp_path)
    path, sidecar = first.graph_path, first.graph_path.with_name(first.graph_path.name + ".json")
    good = path.read_bytes()
    if damage == "flip_byte":
        data = bytearray(good)
        data[len(data) // 2] ^= 0x01  # one bit in the weights: still a loadable graph, silently wrong
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    else:
        sidecar.write_text("{not json")
    again = prepare_runtime(model, "onnxruntime", scale=2, bn_mode="batch", weights_sha256=TINY_SHA,
                            cache_dir=tmp_path)
    assert again.exported and path.read_bytes() == good
    assert json.loads(sidecar.read_text())["sha256"] == hashlib.sha256(good).hexdigest()
    eager = prepare_runtime(model, "eager", scale=2, bn_mode="batch")
    assert (again(_lr()) - eager(_lr())).abs().max().item() < 1e-5


def test_export_code_hash_follows_model_source():
    """Another architecture (other source modules) gives another hash; the same one the same hash."""
    assert rt.export_code_hash(Tiny()) == rt.export_code_hash(Tiny())
    assert rt.export_code_hash(create_model("carn_m")) != rt.export_code_hash(create_model("ecdn"))


# ---------------------------------------------------------------------------------------------------------------
# Fidelity gate


def _perturbed(runner: Runner, delta: float, name: str = "perturbed") -> Runner:
    return Runner(name, lambda x: runner(x) + delta, scale=runner.scale, bn_mode=runner.bn_mode,
                  device=runner.device, versions={})


def test_gate_against_scikit_image():
    """delta_db is the PSNR change against HR that scikit-image computes (RGB, no border)."""
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    ref = np.clip(hr.astype(int) + rng.integers(-6, 7, hr.shape), 0, 255).astype(np.uint8)
    cand = ref.copy()
    cand[::7, ::5, 1] = np.clip(cand[::7, ::5, 1].astype(int) + 3, 0, 255)
    proto = Protocol(color="rgb", border=0)
    gate = compare_outputs(ref, cand, hr, scale=2, protocol=proto, candidate="x")
    expected = (peak_signal_noise_ratio(hr, cand, data_range=255) - peak_signal_noise_ratio(hr, ref, data_range=255))
    assert gate.delta_db == pytest.approx(expected, abs=1e-9)
    assert gate.psnr_vs_reference == pytest.approx(peak_signal_noise_ratio(ref, cand, data_range=255), abs=1e-9)
    assert gate.max_abs_diff == 3 and abs(expected) > 0.001 and not gate.passed
    assert "refused" in gate.note and "\n" not in gate.note


def test_gate_passes_identical_and_tiny_differences():
    rng = np.random.default_rng(1)
    hr = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    ref = np.clip(hr.astype(int) + rng.integers(-8, 9, hr.shape), 0, 255).astype(np.uint8)
    same = compare_outputs(ref, ref.copy(), hr, scale=4)
    assert same.passed and same.delta_db == 0.0 and same.psnr_vs_reference == float("inf")
    one = ref.copy()
    one[10, 10, 0] = ref[10, 10, 0] + 1 if ref[10, 10, 0] < 255 else 254
    close = compare_outputs(ref, one, hr, scale=4)
    assert close.passed and close.max_abs_diff == 1 and abs(close.delta_db) < 0.001
    no_hr = compare_outputs(ref, one, None, scale=4)
    assert no_hr.passed and no_hr.delta_db is None
    shifted = compare_outputs(ref, np.clip(ref.astype(int) + 1, 0, 255).astype(np.uint8), None, scale=4)
    assert not shifted.passed


def test_gate_refuses_perturbed_runner(released):
    sample = next(iter(load_samples("Set5", 4)))
    eager = prepare_runtime(released["carn_m"], "eager", scale=4, bn_mode="eval")
    fine = fidelity_gate(eager, eager, sample.lr, sample.hr)
    assert isinstance(fine, GateResult) and fine.passed and fine.max_abs_diff == 0
    bad = fidelity_gate(eager, _perturbed(eager, 0.6 / 255), sample.lr, sample.hr)
    assert not bad.passed and bad.max_abs_diff == 1 and abs(bad.delta_db) > 0.001
    assert bad.note.startswith("perturbed x4: refused by the fidelity gate")


# ---------------------------------------------------------------------------------------------------------------
# auto


def _probe():
    hr = (np.random.default_rng(2).random((48, 56, 3)) * 255).round().astype(np.uint8)
    lr = hr[::2, ::2].copy()
    return lr, hr


def test_auto_refuses_a_bad_runtime_and_caches_its_choice(tmp_path, monkeypatch):
    model = Tiny()
    lr, hr = _probe()
    real_prepare = selection.prepare_runtime

    def prepare(model, runtime, **kw):
        runner = real_prepare(model, runtime, **kw)
        return _perturbed(runner, 2.0 / 255, "openvino") if runtime == "openvino" else runner

    monkeypatch.setattr(selection, "prepare_runtime", prepare)
    args = dict(scale=2, bn_mode="batch", device="cpu", weights_sha256=TINY_SHA, cache_dir=tmp_path,
                probe_lr_u8=lr, probe_hr_u8=hr, candidates=("onnxruntime", "openvino"), repeats=2)
    first = select_runtime(model, **args)
    assert not first.cached and first.runner is not None and first.runner.name == first.runtime
    assert first.runtime in ("eager", "onnxruntime")
    assert not first.gates["openvino"]["passed"] and "openvino" not in first.timings_ms
    assert first.gates["onnxruntime"]["passed"] and set(first.timings_ms) == {"eager", "onnxruntime"}
    assert any(line.startswith("openvino x2: refused") for line in first.notes)

    def no_probe(*a, **k):
        raise AssertionError("a cached choice must not probe again")

    monkeypatch.setattr(selection, "prepare_runtime", no_probe)
    monkeypatch.setattr(selection, "measure_latency", no_probe)
    second = select_runtime(model, **args)
    assert second.cached and second.runtime == first.runtime and second.key == first.key
    assert second.timings_ms == first.timings_ms and second.runner is None
    with pytest.raises(AssertionError, match="must not probe"):  # another BN mode is another key
        select_runtime(model, **{**args, "bn_mode": "eval"})


def test_auto_records_declines_and_keeps_eager_for_bicubic(tmp_path):
    lr, hr = _probe()
    choice = select_runtime(create_model("bicubic"), scale=2, bn_mode="eval", device="cpu", weights_sha256=TINY_SHA,
                            cache_dir=tmp_path, probe_lr_u8=lr, probe_hr_u8=hr,
                            candidates=("compile", "onnxruntime", "openvino"), repeats=1)
    assert choice.runtime == "eager" and set(choice.declined) == {"compile", "onnxruntime", "openvino"}
    assert all("no parameters" in reason for reason in choice.declined.values())


@pytest.mark.parametrize("fake_ms,expected", [
    ({"eager": 100.0, "onnxruntime": 60.0, "openvino": 80.0}, "onnxruntime"),
    ({"eager": 100.0, "onnxruntime": 97.0, "openvino": 99.0}, "eager"),
    # CARN-M x2's probes on two fresh clones (ms): a 4.6% edge is within the noise, so OpenVINO (less memory) stays;
    # a 17.6% edge is not
    ({"eager": 586.5, "onnxruntime": 241.6, "openvino": 252.8}, "openvino"),
    ({"eager": 450.8, "onnxruntime": 234.2, "openvino": 275.4}, "onnxruntime")])
def test_auto_picks_the_fastest_clear_winner(tmp_path, monkeypatch, fake_ms, expected):
    """The fastest runtime that passes wins, but only by a margin (min_speedup 1.05: noise is ~5%) over eager and,
    between the graph runtimes, over OpenVINO."""
    from srbench.eval.latency import Latency

    calls = []

    def fake_latency(runner, scale, device, **kw):
        calls.append(runner.name)
        return Latency(median_ms=fake_ms[runner.name], iqr_ms=0.0, repeats=1, threads=1)

    monkeypatch.setattr(selection, "measure_latency", fake_latency)
    lr, hr = _probe()
    choice = select_runtime(Tiny(), scale=2, bn_mode="eval", device="cpu", weights_sha256=TINY_SHA,
                            cache_dir=tmp_path, probe_lr_u8=lr, probe_hr_u8=hr, repeats=3)
    assert choice.runtime == expected and choice.timings_ms == fake_ms
    fastest = min(fake_ms, key=fake_ms.get)
    assert choice.notes[-1].endswith(f"; {fastest}'s edge within the margin)" if fastest != expected else " ms)")
    assert calls == ["eager", "onnxruntime", "openvino"] * 3  # rounds take turns between runtimes


@pytest.mark.parametrize("totals,prepare,expected", [
    ({"eager": 100.0, "eager_nchw": 97.0, "compile": 90.0}, {}, "compile"),  # 3% is noise, 11% is not
    ({"eager": 100.0, "eager_nchw": 94.0, "compile": 91.0}, {}, "eager_nchw"),  # 6% over eager, then 3%: noise
    ({"eager": 100.0, "compile": 50.0}, {"compile": 60.0}, "eager"),  # compile's preparation paid in every process
    ({"onnxruntime": 90.0, "openvino": 100.0, "eager": 120.0}, {}, "onnxruntime"),  # order of the dict: irrelevant
    ({"onnxruntime": 96.0, "openvino": 100.0, "eager": 120.0}, {}, "openvino")])
def test_the_clear_margin_is_taken_in_preference_order(totals, prepare, expected):
    """Hand-worked cases of selection._fastest (one workload call): each runtime, in PREFERENCE order, replaces the
    one chosen so far only when at least 1.05 times faster."""
    assert selection._fastest(totals, prepare, workload_calls=1, min_speedup=1.05) == expected
