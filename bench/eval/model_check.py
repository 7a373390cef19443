"""Checking that an external model is an SR model before anything is measured: one small check per scale.

An external builder (:mod:`srbench.models.external`) can return anything that is an ``nn.Module``. Before a cell is
measured, the built model (weights loaded) runs once per declared scale on a seeded random 1x3x32x32 RGB input in
[0, 1]. A failure is a one-line :class:`SrbenchError` naming the model's file: the forward pass raising, an output
that is not a floating tensor of shape 1x3x(32s)x(32s), non-finite values, or values that are clearly not an RGB image
in [0, 1]: the 1st or the 99th percentile outside [-0.5, 1.5] (a model working in [0, 255] or [-1, 1], or an
untrained network, fails; the ordinary overshoot of a trained network is far inside that band).

A field model (:mod:`srbench.models.zoo`) runs the same check, and one more: on a smooth 1x3x32x32 image (seeded
6x6 noise upsampled bicubically) its output must agree with bicubic upsampling to at least
:data:`SMOOTH_PSNR_DB`. A trained SR network reproduces a smooth image's interpolation almost exactly (measured on the
released files: 45.5-48.3 dB), while a network fed the wrong range does not: the [0, 255] networks (RFDN, RLFN,
FMEN) fed [0, 1] give 18.8-22.5 dB. The noise percentiles alone miss exactly that case (RFDN fed [0, 1] stays within
0.007-1.05), the mistake the NTIRE organisers warn about; the [0, 1] networks fed [0, 255] fail the percentiles.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from srbench.core.errors import SrbenchError
from srbench.models.external import one_line

PROBE_HW = (32, 32)
RANGE = (-0.5, 1.5)
#: least PSNR (dB) between a field model's output on a smooth test image and its bicubic upsampling
SMOOTH_PSNR_DB = 30.0


def check_external_model(model: nn.Module, device: torch.device | str) -> None:
    """Run the check on an external model (no-op for srbench's own models); raise a one-line error if it fails."""
    ext = getattr(model, "srbench_external", None)
    if ext is None:
        return
    _check_output(model, device, f"model {ext.spec!r} ({ext.source})")


def check_zoo_model(model: nn.Module, device: torch.device | str) -> None:
    """Run the check and the smooth-image check on a field model (no-op for others); one-line error naming the
    declared input range when it fails."""
    if not hasattr(model, "input_range"):
        return
    where = (f"model {getattr(model, 'arch', type(model).__name__)!r} (input range [0, {model.input_range:g}], "
             f"weights {getattr(model, 'weights_label', 'none')})")
    _check_output(model, device, where)
    generator = torch.Generator().manual_seed(0)
    x = F.interpolate(torch.rand(1, 3, 6, 6, generator=generator), size=PROBE_HW, mode="bicubic",
                      align_corners=False).clamp(0, 1)
    for scale in model.scales:
        with torch.inference_mode():
            y = model(x.to(device).contiguous(memory_format=torch.channels_last), scale).float().cpu()
        ref = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
        mse = float(F.mse_loss(y, ref))
        psnr = 10 * math.log10(1 / mse) if mse > 0 else math.inf
        if psnr < SMOOTH_PSNR_DB:
            raise SrbenchError(f"{where}: on a smooth test image at x{scale} the output is {psnr:.1f} dB from bicubic "
                               f"upsampling (a trained network gives over {SMOOTH_PSNR_DB:g} dB); the declared input "
                               "range is wrong or the weights are not the network's")


def _check_output(model: nn.Module, device: torch.device | str, where: str) -> None:
    """The noise check: shape, dtype, finiteness and the [0, 1] percentile band at every scale of ``model``."""
    h, w = PROBE_HW
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    x = x.to(device).contiguous(memory_format=torch.channels_last)
    for scale in model.scales:
        try:
            with torch.inference_mode():
                y = model(x, scale)
        except SrbenchError as exc:
            raise SrbenchError(f"{where}: {exc}") from None
        except Exception as exc:  # anything the user's forward raises
            raise SrbenchError(f"{where}: forward on a 1x3x{h}x{w} test image at x{scale} failed ({one_line(exc)})"
                               ) from None
        expected = (1, 3, h * scale, w * scale)
        if not isinstance(y, torch.Tensor):
            raise SrbenchError(f"{where}: forward returned {type(y).__name__}, not a tensor (expected shape "
                               f"{expected})")
        if tuple(y.shape) != expected:
            raise SrbenchError(f"{where}: at x{scale} a 1x3x{h}x{w} input gave shape {tuple(y.shape)}, expected "
                               f"{expected}")
        if not y.is_floating_point():
            raise SrbenchError(f"{where}: output dtype {y.dtype}; expected a float RGB image in [0, 1]")
        y = y.detach().float().cpu()
        if not bool(torch.isfinite(y).all()):
            raise SrbenchError(f"{where}: non-finite output (NaN or Inf) on the test image at x{scale}; the weights or "
                               "the model are broken")
        lo, hi = (float(v) for v in torch.quantile(y.flatten(), torch.tensor([0.01, 0.99])))
        if lo < RANGE[0] or hi > RANGE[1]:
            raise SrbenchError(f"{where}: output is not an RGB image in [0, 1] (1st-99th percentile {lo:.3g} to "
                               f"{hi:.3g} on a [0, 1] test image at x{scale}); the model must take and return RGB in "
                               "[0, 1] (not [0, 255] or [-1, 1]), with its trained weights loaded")
