"""Training precision: what a recipe's ``amp`` means on a device, and CPU bf16 convolutions that pay.

``amp`` (:class:`~srbench.train.config.TrainConfig`):

* ``none``: float32.
* ``auto``: bf16 where the device computes bf16 fast, float32 elsewhere. Fast means a CUDA GPU of compute
  capability 8.0 or more (Ampere and later: native bf16 tensor cores), asked of the run's own device, or a CPU with
  AVX512-BF16 or AMX (the ``avx512_bf16`` / ``amx_bf16`` flags of ``/proc/cpuinfo``, else torch's own CPU feature
  checks). Not ``torch.cuda.is_bf16_supported()``: it asks the *current* device and, by default, counts emulated
  bf16 as supported, so a V100 or T4 would pick slow emulation.
* ``bf16``: bf16 autocast on CUDA and on CPU (a CPU without bf16 instructions emulates it, slowly: a note says so).
* ``fp16``: fp16 autocast with gradient scaling, CUDA only (float32 with a note elsewhere).

The model's weights and the optimizer stay float32 in every mode; only the forward pass (and so the gradients flowing
through it) is reduced, and the loss is computed in float32 (:mod:`srbench.train.losses`). Validation runs outside
autocast, in float32.

Why CPU bf16 needs more than ``torch.autocast``: on this project's CPU (AVX512-BF16, no AMX; torch 2.13, oneDNN;
two cores shared with other jobs), bf16 autocast alone is erratic: a training step of ECDN-M ran anywhere from 0.7x
to 2.5x the float32 time between otherwise identical runs. oneDNN's bf16 convolution forward and input-gradient
kernels are steadily about 2x faster than float32, but its bf16 weight-gradient kernel for ungrouped 3x3
convolutions swings from as fast as float32 to 5-20x slower (it appears to stall when a core is taken by another
process), and bf16 convolutions with 3 input channels are slow. So, under CPU bf16, :func:`bf16_convolutions` routes
every ``conv2d`` of the forward pass through :class:`_Bf16Conv`: forward and input gradient in bf16; the weight and
bias gradients in float32 (from the same bf16-rounded operands, the values autocast would use) for ungrouped
convolutions larger than 1x1, in bf16 (as autocast) for grouped and 1x1 ones; and convolutions with at most
:data:`THIN_CHANNELS` input channels (the RGB entry conv, the mean shifts) entirely in float32, which costs little
and keeps the input image at full precision. Measured with ``scripts/bench_train_throughput.py``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

THIN_CHANNELS = 4
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class Precision:
    """The resolved ``amp`` of a run: the autocast dtype (None: float32) and why."""

    requested: str
    dtype: torch.dtype | None
    device_type: str
    reason: str

    @property
    def effective(self) -> str:
        """``bf16``, ``fp16`` or ``none``: what the run computes in (logged as ``srbench.amp_effective``)."""
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "none")

    @property
    def cpu_bf16(self) -> bool:
        """True when the CPU bf16 convolution policy (:func:`bf16_convolutions`) applies."""
        return self.dtype == torch.bfloat16 and self.device_type == "cpu"

    def autocast(self):
        """The forward pass's context: autocast (plus the CPU bf16 convolutions) or nothing."""
        if self.dtype is None:
            return contextlib.nullcontext()
        stack = contextlib.ExitStack()
        stack.enter_context(torch.autocast(self.device_type, dtype=self.dtype))
        if self.cpu_bf16:
            stack.enter_context(bf16_convolutions())
        return stack


def cpu_bf16_features(cpuinfo: str | Path = "/proc/cpuinfo") -> list[str]:
    """The CPU's fast-bf16 features: the flags of :data:`CPU_BF16_FLAGS` it reports (``/proc/cpuinfo``), else what
    torch's CPU feature checks find (platforms without that file); empty when none."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        text = ""
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    if flags:
        return [f for f in CPU_BF16_FLAGS if f in flags]
    checks = {"avx512_bf16": "_is_avx512_bf16_supported", "amx_bf16": "_is_amx_tile_supported"}
    found = []
    for name, check in checks.items():
        fn = getattr(torch.cpu, check, None)
        with contextlib.suppress(Exception):
            if fn is not None and fn():
                found.append(name)
    return found


def cuda_native_bf16(device: torch.device) -> bool:
    """True when the CUDA ``device`` (not the current one) computes bf16 natively: compute capability >= 8.0."""
    return tuple(torch.cuda.get_device_capability(device)) >= (8, 0)


def resolve_precision(amp: str, device: torch.device, *, cpu_features: list[str] | None = None) -> Precision:
    """What ``amp`` (none | auto | bf16 | fp16) gives on ``device`` (see the module doc)."""
    kind = device.type
    if amp == "none":
        return Precision(amp, None, kind, "amp=none")
    if kind == "cuda":
        fast = cuda_native_bf16(device)
        if amp == "fp16":
            return Precision(amp, torch.float16, kind, "amp=fp16 on CUDA (gradient scaling)")
        if amp == "bf16" or fast:
            return Precision(amp, torch.bfloat16, kind, f"amp={amp} on CUDA" + ("" if fast else
                                                                                 " (no native bf16 here)"))
        return Precision(amp, None, kind, "amp=auto: this GPU has no fast bf16; float32")
    if kind == "cpu" and amp in ("auto", "bf16"):
        features = cpu_bf16_features() if cpu_features is None else cpu_features
        if features:
            return Precision(amp, torch.bfloat16, kind, f"amp={amp}: CPU has {'+'.join(features)}")
        if amp == "bf16":
            return Precision(amp, torch.bfloat16, kind, "amp=bf16: CPU without AVX512-BF16/AMX (emulated, slow)")
        return Precision(amp, None, kind, "amp=auto: CPU without AVX512-BF16/AMX; float32")
    return Precision(amp, None, kind, f"amp={amp} applies on CUDA only; float32 on {kind}")


def describe(precision: Precision) -> str:
    """One line for the console: ``precision: bf16 (amp=auto: CPU has avx512_bf16)``."""
    return f"precision: {precision.effective if precision.dtype else 'float32'} ({precision.reason})"


# ------------------------------------------------------------------------------------------------------------------
# CPU bf16 convolutions

class _Bf16Conv(torch.autograd.Function):
    """conv2d in bf16 (forward and input gradient); the weight and bias gradients in float32 when
    :func:`_fp32_weight_grad` says the bf16 kernel is the slow one, else in bf16 like autocast (see the module doc)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        xb, wb = x.to(torch.bfloat16), weight.to(torch.bfloat16)
        ctx.save_for_backward(xb, wb)
        ctx.conf = (stride, padding, dilation, groups, bias is not None)
        return F.conv2d(xb, wb, None if bias is None else bias.to(torch.bfloat16), stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad):
        xb, wb = ctx.saved_tensors
        stride, padding, dilation, groups, has_bias = ctx.conf
        output_padding = [0] * len(wb.shape[2:])
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1] or (has_bias and ctx.needs_input_grad[2])
        grad = grad.to(torch.bfloat16)
        bias_sizes = [wb.shape[0]] if has_bias else None
        if not (need_w and _fp32_weight_grad(wb, groups)):
            mask = [need_x, need_w, need_w and has_bias]
            gx, gw, gb = torch.ops.aten.convolution_backward(grad, xb, wb, bias_sizes, stride, padding, dilation,
                                                             False, output_padding, groups, mask)
            return gx, gw, gb, None, None, None, None
        gx = None
        if need_x:
            gx = torch.ops.aten.convolution_backward(grad, xb, wb, None, stride, padding, dilation, False,
                                                     output_padding, groups, [True, False, False])[0]
        _, gw, gb = torch.ops.aten.convolution_backward(grad.float(), xb.float(), wb.float(), bias_sizes, stride,
                                                        padding, dilation, False, output_padding, groups,
                                                        [False, True, has_bias])
        return gx, gw, gb, None, None, None, None


def _fp32_weight_grad(weight: torch.Tensor, groups: int) -> bool:
    """True for ungrouped convolutions with a kernel larger than 1x1: there oneDNN's bf16 weight-gradient kernel is
    erratic on this CPU (AVX512-BF16, no AMX, two shared cores), from as fast as float32 to 5-20x slower between
    otherwise identical runs, while the float32 kernel is steady; grouped and 1x1 convolutions keep bf16 (faster)."""
    return groups == 1 and any(k > 1 for k in weight.shape[2:])


def _thin(weight: torch.Tensor, groups: int) -> bool:
    """Convolutions of at most :data:`THIN_CHANNELS` input channels (the RGB entry, the mean shifts): float32."""
    return weight.shape[1] * groups <= THIN_CHANNELS


def _as_tuple(v, n: int = 2) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class bf16_convolutions(TorchFunctionMode):
    """Inside this context, ``F.conv2d`` with a float32 weight runs as :class:`_Bf16Conv` (thin ones in float32)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.conv2d:
            x, weight = args[0], args[1]
            rest = list(args[2:])
            names = ("bias", "stride", "padding", "dilation", "groups")
            defaults = (None, 1, 0, 1, 1)
            bias, stride, padding, dilation, groups = [rest[i] if i < len(rest) else kwargs.get(n, d)
                                                       for i, (n, d) in enumerate(zip(names, defaults))]
            if isinstance(padding, str) or weight.dtype != torch.float32:
                return func(*args, **kwargs)
            if _thin(weight, groups):
                with torch.autocast("cpu", enabled=False):
                    return F.conv2d(x.float(), weight, bias, stride, padding, dilation, groups)
            return _Bf16Conv.apply(x, weight, bias, list(_as_tuple(stride)), list(_as_tuple(padding)),
                                   list(_as_tuple(dilation)), groups)
        return func(*args, **kwargs)
