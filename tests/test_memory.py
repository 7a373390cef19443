"""Peak memory means what the column says: the live tensors of one forward pass, whatever ran before (issue 11,
item 15). Small outputs only (64x64 and 128x128), so the whole file takes a few seconds."""

from __future__ import annotations

import pytest
import torch

from srbench.eval.memory import _live_peak_bytes, measure_peak_memory_mb
from srbench.eval.weights import prepare_model
from srbench.models import create_model

CPU = torch.device("cpu")
SMALL, LARGE = (64, 64), (128, 128)  # 4x the area


@pytest.fixture(scope="module")
def models():
    return {name: prepare_model(create_model(name)) for name in ("bicubic", "carn_m", "ecdn_m")}


def _peak(model, out_hw, scale=4):
    return measure_peak_memory_mb(model, scale, CPU, out_hw=out_hw)


def test_running_peak_of_allocations_and_frees():
    # hand-made timeline: +4 +6 (10 live) -4 +3 (9) -6 -3; the peak is 10, whatever order the list is given in
    events = [(3, -4), (1, 4), (2, 6), (4, 3), (6, -3), (5, -6)]
    assert _live_peak_bytes(events) == 10
    assert _live_peak_bytes([]) == 0


def test_reproducible_and_independent_of_earlier_models(models):
    first = _peak(models["carn_m"], SMALL)
    _peak(models["ecdn_m"], LARGE)  # a larger pass in between must leave no trace
    big = torch.empty(64 * 2**20, dtype=torch.uint8)  # nor memory held (or freed) around the pass
    del big
    assert _peak(models["carn_m"], SMALL) == first


def test_scales_with_output_area(models):
    # every tensor live at the peak (below) is a feature map whose size is proportional to the output's area
    for name in ("carn_m", "ecdn_m"):
        assert _peak(models[name], LARGE) == 4 * _peak(models[name], SMALL), name


def test_at_least_the_tensors_that_must_coexist(models):
    # the last convolution reads the 64-channel HR feature map while writing the 3-channel output: both are live
    h, w = SMALL
    assert _peak(models["carn_m"], SMALL) * 2**20 >= (64 + 3) * h * w * 4
    # bicubic holds at least its float32 output and far less than a network
    assert 3 * h * w * 4 <= _peak(models["bicubic"], SMALL) * 2**20
    assert _peak(models["bicubic"], SMALL) < _peak(models["carn_m"], SMALL) / 4


def test_exact_peak_at_a_64x64_output(models):
    # counted by hand, float32, x4 (LR 16x16): the last x2 upsampling stage's conv output (256 channels at 32x32) and
    # its PixelShuffle output (64 channels at 64x64) are live together: 2 x 1 MiB. Beside them, LR-sized feature maps
    # (16x16; 64 KiB per 64 channels): CARN-M two 64-channel maps, ECDN-M the same two plus a 192-channel
    # concatenation of its dense cascade (192 KiB). (Which LR maps are still referenced was read off the profiler's
    # allocation list when this test was written: 1024, 1024, 64, 64 KiB and 1024, 1024, 192, 64, 64 KiB.)
    mib = 2**20
    assert _peak(models["carn_m"], SMALL) * mib == 2 * mib + 2 * 64 * 1024
    assert _peak(models["ecdn_m"], SMALL) * mib == 2 * mib + (192 + 2 * 64) * 1024


def test_measuring_memory_imports_no_compiler(tmp_path):
    """torch.profiler.profile's first use imports torch._inductor and torch._dynamo (67 MiB kept): the recorder used
    here must not, in a fresh interpreter."""
    import subprocess
    import sys

    script = ("import sys, torch\n"
              "from srbench.eval.memory import measure_peak_memory_mb\n"
              "conv = torch.nn.Conv2d(3, 12, 3, padding=1)\n"
              "peak = measure_peak_memory_mb(lambda x, s: torch.nn.functional.pixel_shuffle(conv(x), s), 2,\n"
              "                              torch.device('cpu'), out_hw=(64, 64))\n"
              "print(peak > 0, 'torch._dynamo' in sys.modules, 'torch._inductor' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "False", "False"]
