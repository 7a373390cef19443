"""Applying a ``Protocol`` to one (SR, HR) pair: quantisation, colour handling, border crop, then PSNR, SSIM, LPIPS.

This is the only place that reads the measuring knobs (``quantize``, ``color``, ``border``, ``gray``,
``double_scale``, ``lpips_input``); the metrics themselves are the pure functions of ``srbench.eval.metrics`` and
``srbench.eval.lpips``.

LPIPS (:func:`lpips_pair`) is defined on RGB: it sees the 8-bit SR and HR as RGB (a gray HR replicated, whatever
``gray`` says), after the same ``border`` crop as PSNR/SSIM, in the protocol's ``lpips_input`` range; ``color`` and
``double_scale`` do not apply to it. Under ``ecdn_report`` (border 0, ``zero_one``) this is what the ECDN report's
``compare.py`` computed: ``lpips.LPIPS(net='alex')`` on the whole ``ToTensor()`` images.

Grayscale images (calibration.md, "Grayscale images"): the network always sees and returns RGB (the gray LR is
replicated to three channels). With ``gray='replicate'`` the gray HR is replicated too and measured exactly like a
colour image (Y of a replicated gray value g is 16 + 219/255 g). With ``gray='raw'`` the image is measured on its own
gray values with no Y transform: the HR is its single channel, and the SR gray value is the *mean of the three output
channels* (kept as float, not re-rounded). For bicubic the three channels are identical, so this is exactly the gray
output; for a network it is the natural projection of an RGB output onto the gray axis, and it needs no choice of a
privileged channel.
"""

from __future__ import annotations

import math

import numpy as np

from srbench.core.errors import SrbenchError
from srbench.data.images import to_rgb
from srbench.eval.lpips import LPIPS, MIN_SIDE, lpips_distance
from srbench.eval.metrics import SSIM_WIN, psnr, rgb_to_y, shave, ssim
from srbench.eval.protocol import Protocol

DOUBLE_SCALE_DB = 20.0 * math.log10(255.0)  # what dividing by 255 twice adds to a PSNR


def quantize(sr_float01: np.ndarray, mode: str) -> np.ndarray:
    """Network output in [0, 1] -> uint8: clamp, then ``round`` (numpy, half to even) or ``truncate`` (floor)."""
    x = np.clip(np.asarray(sr_float01, dtype=np.float64), 0.0, 1.0) * 255.0
    if mode == "round":
        return np.round(x).astype(np.uint8)
    if mode == "truncate":
        return np.floor(x).astype(np.uint8)
    raise ValueError(f"quantize mode must be 'round' or 'truncate', got {mode!r}")


def measured_planes(sr_u8: np.ndarray, hr_u8: np.ndarray, *, protocol: Protocol,
                    gray: bool) -> tuple[np.ndarray, np.ndarray]:
    """The float64 arrays PSNR/SSIM are computed on, before the border crop (HxW or HxWx3)."""
    if gray and protocol.gray == "raw":
        sr = sr_u8.astype(np.float64)
        sr = sr.mean(axis=2) if sr.ndim == 3 else sr
        hr = hr_u8.astype(np.float64)
        hr = hr.mean(axis=2) if hr.ndim == 3 else hr
        return sr, hr
    sr, hr = to_rgb(sr_u8), to_rgb(hr_u8)
    if protocol.color == "y":
        return rgb_to_y(sr), rgb_to_y(hr)
    return sr.astype(np.float64), hr.astype(np.float64)


def score_pair(sr_u8: np.ndarray, hr_u8: np.ndarray, *, scale: int, protocol: Protocol,
               gray: bool, name: str = "") -> tuple[float, float]:
    """(PSNR, SSIM) of an 8-bit SR output against its (scale-cropped) 8-bit HR under ``protocol``.

    An image too small to measure (under the SSIM window once the border is cropped) is a ``SrbenchError`` naming
    ``name`` (the image's name, for the message) and its size.
    """
    if sr_u8.shape[:2] != hr_u8.shape[:2]:
        raise ValueError(f"SR {sr_u8.shape} and HR {hr_u8.shape} differ in size")
    border = protocol.border_for(scale)
    h, w = hr_u8.shape[:2]
    if min(h, w) - 2 * border < SSIM_WIN:
        raise SrbenchError(f"image {name or '(unnamed)'}: {w}x{h} px is too small to measure at x{scale}: after "
                           f"cropping {border} px from each border it is under the {SSIM_WIN}x{SSIM_WIN} SSIM window; "
                           "remove it from the dataset")
    sr, hr = measured_planes(sr_u8, hr_u8, protocol=protocol, gray=gray)
    sr, hr = shave(sr, border), shave(hr, border)
    p = psnr(sr, hr, data_range=255.0)
    if protocol.double_scale:
        p += DOUBLE_SCALE_DB
    return p, ssim(sr, hr, data_range=255.0)


def lpips_pair(sr_u8: np.ndarray, hr_u8: np.ndarray, *, scale: int, protocol: Protocol, net: LPIPS,
               name: str = "") -> float:
    """LPIPS v0.1 (AlexNet) of an 8-bit SR output against its 8-bit HR under ``protocol`` (see the module docstring).

    An image too small for AlexNet's pooling once the border is cropped is a ``SrbenchError`` naming ``name``.
    """
    if sr_u8.shape[:2] != hr_u8.shape[:2]:
        raise ValueError(f"SR {sr_u8.shape} and HR {hr_u8.shape} differ in size")
    border = protocol.border_for(scale)
    h, w = hr_u8.shape[:2]
    if min(h, w) - 2 * border < MIN_SIDE:
        raise SrbenchError(f"image {name or '(unnamed)'}: {w}x{h} px is too small for LPIPS at x{scale}: after "
                           f"cropping {border} px from each border it is under {MIN_SIDE}x{MIN_SIDE}; remove it from "
                           "the dataset or do not declare lpips for it")
    sr, hr = shave(to_rgb(sr_u8), border), shave(to_rgb(hr_u8), border)
    return lpips_distance(np.ascontiguousarray(sr), np.ascontiguousarray(hr), input_range=protocol.lpips_input,
                          net=net)
