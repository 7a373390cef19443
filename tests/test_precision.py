"""Training precision: what amp resolves to, and the CPU bf16 convolutions against float64 references."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from srbench.train.precision import bf16_convolutions, cpu_bf16_features, resolve_precision

CPU = torch.device("cpu")


def test_amp_resolution_on_cpu():
    fast, slow = ["avx512_bf16"], []
    assert resolve_precision("auto", CPU, cpu_features=fast).dtype == torch.bfloat16
    auto_slow = resolve_precision("auto", CPU, cpu_features=slow)
    assert auto_slow.dtype is None and auto_slow.effective == "none" and "float32" in auto_slow.reason
    forced = resolve_precision("bf16", CPU, cpu_features=slow)
    assert forced.dtype == torch.bfloat16 and "emulated" in forced.reason and forced.cpu_bf16
    assert resolve_precision("fp16", CPU, cpu_features=fast).dtype is None  # fp16 autocast: CUDA only
    assert resolve_precision("none", CPU, cpu_features=fast).effective == "none"


def test_cpu_features_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n\n"
                    "processor\t: 1\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_bf16_features(info) == ["avx512_bf16"]
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 amx_bf16 amx_tile\n")
    assert cpu_bf16_features(info) == ["amx_bf16"]
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n")
    assert cpu_bf16_features(info) == []


def _bf16(t: torch.Tensor) -> torch.Tensor:
    return t.to(torch.bfloat16).double()


@pytest.mark.parametrize("cin,cout,k,groups", [(16, 8, 3, 1), (16, 32, 3, 4), (16, 8, 1, 1), (8, 3, 3, 1)])
def test_bf16_convolution_gradients_match_float64(cin, cout, k, groups):
    """Forward, input, weight and bias gradients under the CPU bf16 policy against float64 convolutions of the
    bf16-rounded operands (what bf16 arithmetic with float32 accumulation should approximate): relative errors of
    bf16 rounding (< 2e-2), float32 results for the weights, bf16 activations."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups)
    x = torch.randn(2, cin, 9, 9, requires_grad=True)
    gy = torch.randn(2, cout, 9, 9)
    with torch.autocast("cpu", dtype=torch.bfloat16), bf16_convolutions():
        y = conv(x)
    y.backward(gy.to(y.dtype))
    assert y.dtype == torch.bfloat16 and conv.weight.grad.dtype == torch.float32 and x.grad.dtype == torch.float32

    xd, wd = _bf16(x.detach()).requires_grad_(), _bf16(conv.weight.detach()).requires_grad_()
    bd = conv.bias.detach().double().requires_grad_()
    yd = F.conv2d(xd, wd, bd, 1, k // 2, 1, groups)
    yd.backward(_bf16(gy))

    def rel(a, b):
        return float((a.detach().double() - b.detach()).norm() / b.detach().norm())

    assert rel(y, yd) < 1e-2
    assert rel(x.grad, xd.grad) < 2e-2
    assert rel(conv.weight.grad, wd.grad) < 2e-2
    assert rel(conv.bias.grad, bd.grad) < 2e-2


def test_thin_convolutions_stay_float32_and_validation_is_untouched():
    torch.manual_seed(0)
    entry = torch.nn.Conv2d(3, 16, 3, padding=1)
    x = torch.rand(1, 3, 8, 8)
    ref = F.conv2d(x, entry.weight, entry.bias, 1, 1)
    with torch.autocast("cpu", dtype=torch.bfloat16), bf16_convolutions():
        y = entry(x)
    assert y.dtype == torch.float32 and torch.equal(y, ref)  # the RGB entry conv: full float32
    with torch.no_grad():
        assert torch.equal(entry(x), ref)  # outside the context nothing changed
