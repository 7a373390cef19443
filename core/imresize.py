"""MATLAB-compatible bicubic ``imresize``: how every SR benchmark's LR images and bicubic baseline were made.

Reproduces MATLAB's ``imresize(img, scale, 'bicubic')``:

* Keys cubic kernel (a = -0.5), width 4; when shrinking, the kernel is stretched by ``1/scale`` (antialiasing);
* MATLAB's coordinate mapping ``u = x / scale + 0.5 * (1 - 1 / scale)`` (1-based ``x``) and its mirror padding
  (``aux = [1:n, n:-1:1]``), weights normalised to sum to 1 per output pixel;
* output size ``ceil(in * scale)``; the dimension with the smaller scale is resized first (height first on a tie);
* uint8 input is rounded (half away from zero) and saturated to uint8 after *each* axis, as MATLAB's ``imresizemex``
  does: that intermediate rounding is what makes the result match the shipped LR files bit for bit; float input stays
  float64.

Each output pixel is accumulated tap by tap in MATLAB's order (a vectorised loop over the kernel taps), so a
1024x768 RGB image resizes in a few tens of milliseconds.
"""

from __future__ import annotations

import math

import numpy as np

KERNEL_WIDTH = 4.0


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def output_length(in_length: int, scale: float) -> int:
    """MATLAB's ``ceil(scale * in_length)``, guarded against float noise such as ``255 * (1/3) = 85.00000000000001``."""
    return int(math.ceil(in_length * scale - 1e-9))


def contributions(in_length: int, out_length: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per output pixel, the 0-based input indices and normalised weights of its taps (MATLAB's ``contributions``).

    Returns ``(indices, weights)``, both of shape ``(out_length, taps)``; all-zero tap columns are dropped as MATLAB
    does, so the accumulation order (and float rounding) is MATLAB's.
    """
    if scale < 1:  # antialiasing: stretch the kernel when shrinking
        kernel = lambda t: scale * cubic(scale * t)  # noqa: E731
        width = KERNEL_WIDTH / scale
    else:
        kernel, width = cubic, KERNEL_WIDTH
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based, may fall outside [1, n]
    weights = kernel(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])  # 0-based mirror
    indices = aux[np.mod(indices.astype(np.int64) - 1, aux.size)]
    keep = np.any(weights != 0, axis=0)
    return indices[:, keep], weights[:, keep]


def _round_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's double -> uint8 conversion: saturate, then round half away from zero."""
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)


def resize_axis(img: np.ndarray, axis: int, scale: float, out_length: int) -> np.ndarray:
    """Resize one axis of a float64 array with MATLAB's bicubic weights (no rounding)."""
    indices, weights = contributions(img.shape[axis], out_length, scale)
    # the resized axis first and contiguous, so that each tap gathers whole rows (a strided gather along the second
    # axis was most of the time); the arithmetic, and so every rounding, is the same whatever the memory layout
    moved = np.ascontiguousarray(np.moveaxis(img, axis, 0))
    extra = (1,) * (moved.ndim - 1)
    out = np.zeros((out_length,) + moved.shape[1:], dtype=np.float64)
    for tap in range(indices.shape[1]):
        out += weights[:, tap].reshape((-1,) + extra) * moved[indices[:, tap]]
    return np.moveaxis(out, 0, axis)


def imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """Resize an HxW or HxWxC image by ``scale`` exactly as MATLAB's ``imresize(img, scale, 'bicubic')``.

    uint8 in -> uint8 out (rounded after each axis); any other dtype -> float64 out, not rounded or clipped.
    """
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize expects an HxW or HxWxC image, got shape {img.shape}")
    if not scale > 0:
        raise ValueError(f"imresize scale must be > 0, got {scale}")
    is_uint8 = img.dtype == np.uint8
    out = img
    # Both axes share one scale, so MATLAB's stable sort of the scales resizes height (dim 1) first.
    for axis in (0, 1):
        resized = resize_axis(out.astype(np.float64, copy=False), axis, scale, output_length(img.shape[axis], scale))
        out = _round_uint8(resized) if is_uint8 else resized
    return out
