"""Applying a ``Protocol`` to one (SR, HR) pair: quantisation, colour handling, border crop, then PSNR, SSIM, LPIPS.

This is the only place that reads the measuring knobs (``quantize``, ``color``, ``luma``, ``border``, ``gray``,
``ssim``, ``aggregate``, ``double_scale``, ``lpips_input``); the metrics themselves are the pure functions of
``srbench.eval.metrics`` and ``srbench.eval.lpips``.

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
from dataclasses import dataclass

import numpy as np

from srbench.core.errors import SrbenchError
from srbench.data.images import to_rgb
from srbench.eval.lpips import LPIPS, MIN_SIDE, lpips_distance
from srbench.eval.lpips_cache import hr_features
from srbench.eval import _kernels
from srbench.eval.metrics import (SSIM_WIN, by_halves, cropped_mean, cropped_mse, memory_block, psnr_from_mse,
                                  rgb_to_y, rgb_to_y_full, shave, ssim_maps, ssim_reference)
from srbench.eval.protocol import Protocol

DOUBLE_SCALE_DB = 20.0 * math.log10(255.0)  # what dividing by 255 twice adds to a PSNR


def quantize(sr_float01: np.ndarray, mode: str) -> np.ndarray:
    """Network output in [0, 1] -> what is measured, in 0-255: clamp, then ``round`` (numpy, half to even) or
    ``truncate`` (floor) to uint8, or ``float`` (float64 x 255, no 8-bit step)."""
    if mode not in ("round", "truncate", "float"):
        raise ValueError(f"quantize mode must be 'round', 'truncate' or 'float', got {mode!r}")
    if mode != "float" and sr_float01.dtype in (np.float32, np.float64):
        return _quantize_8bit(sr_float01, truncate=mode == "truncate")
    # clip(x, 0, 1) * 255 then round or floor, computed in place on one float64 copy (the same values bit for bit)
    x = np.array(sr_float01, dtype=np.float64)
    np.clip(x, 0.0, 1.0, out=x)
    x *= 255.0
    if mode == "float":
        return x
    (np.round if mode == "round" else np.floor)(x, out=x)
    return x.astype(np.uint8)


def _quantize_8bit(values: np.ndarray, *, truncate: bool) -> np.ndarray:
    """:func:`quantize` of float32 or float64 values to uint8 by the compiled kernel (``srbench.eval._kernels``):
    each value as float64, clipped, times 255, rounded half to even (or floored), the very operations of the numpy
    expression (``tests/test_metrics.py`` compares them, ties of the 8-bit grid included), in one pass instead of
    five, on two threads. A NaN or Inf value is an error (numpy would make it some byte).

    Values are read in their memory order and the result has the same layout (as numpy's ``astype`` keeps it): a
    network's output arrives channels-first in memory, and copying it to C order first would cost as much as the
    kernel itself on a large image. Only a view with gaps (a crop) is copied."""
    src, back = memory_block(values)
    out = np.empty(src.shape, dtype=np.uint8)
    flat, flat_out, count = src.reshape(-1), out.reshape(-1), src.size
    finite = []
    by_halves(count, lambda lo, hi: finite.append(_kernels.quantize(flat, src.itemsize, count, truncate, lo, hi,
                                                                    flat_out)))
    if not all(finite):
        raise ValueError("quantize: the output holds NaN or Inf values")
    return out.transpose(back)  # the caller's axes


def to_8bit(sr: np.ndarray) -> np.ndarray:
    """An SR image as 8 bits for LPIPS and saved crops: unchanged when it is already, rounded when it is float."""
    return sr if sr.dtype == np.uint8 else np.round(np.clip(sr, 0.0, 255.0)).astype(np.uint8)


def ssim_window(protocol: Protocol) -> str:
    """The SSIM window (:data:`srbench.eval.metrics.SSIM_WINDOWS`) that ``protocol.ssim`` names."""
    return "uniform7" if protocol.ssim == "skimage" else "gaussian11"


def plane_key(protocol: Protocol, gray: bool) -> tuple:
    """What decides the measured planes of an image (before the border crop): two protocols with one key measure
    the same arrays (e.g. ``luma`` does not matter on RGB, ``color`` and ``luma`` not on a raw gray image)."""
    if gray and protocol.gray == "raw":
        return ("gray_raw",)
    return (protocol.color, protocol.luma if protocol.color == "y" else None)


def measured_plane(img: np.ndarray, *, protocol: Protocol, gray: bool) -> np.ndarray:
    """The float64 array PSNR/SSIM are computed on for one side (SR or HR), before the border crop (HxW or HxWx3);
    the SR may be the float output of ``quantize='float'``. Both sides go through the same steps.

    Always C-contiguous, whatever the layout of ``img`` (a network's output arrives channels-first in memory): the
    mean of the squared error adds in memory order, so two layouts of one image would give MSEs a last bit apart."""
    if gray and protocol.gray == "raw":
        x = img.astype(np.float64)
        return np.ascontiguousarray(x.mean(axis=2) if x.ndim == 3 else x)
    rgb = to_rgb(img)
    if protocol.color == "y":
        return (rgb_to_y if protocol.luma == "bt601_limited" else rgb_to_y_full)(rgb)
    return np.ascontiguousarray(rgb, dtype=np.float64)


class Reference:
    """What is measured of one HR image, computed once for every output scored against it (one
    :class:`ImageScorer` per output; ``srbench explain`` scores one HR against each LR input's output): the measured
    planes per :func:`plane_key` and SSIM's maps of the whole plane per window."""

    def __init__(self, hr_u8: np.ndarray, *, gray: bool, shared: set[tuple] | None = None) -> None:
        self.hr, self.gray = hr_u8, gray
        #: the (plane key, window) pairs whose SSIM maps several outputs read (:meth:`keeps`); None: all of them
        self.shared = shared
        self._memo: dict[tuple, object] = {}

    def keeps(self, protocol: Protocol, window: str) -> bool:
        """True when SSIM's maps of this plane and window are kept for several outputs; otherwise the one output
        measured on them makes them row by row beside its own (:func:`srbench.eval.metrics.ssim_map`: the same
        values, without writing three maps and reading them back)."""
        return self.shared is None or (plane_key(protocol, self.gray), window) in self.shared

    def matches(self, hr_u8: np.ndarray, gray: bool) -> bool:
        """True when ``hr_u8`` is this reference's image (same pixels), so its planes and maps apply."""
        return gray == self.gray and same_pixels(hr_u8, self.hr)

    def plane(self, protocol: Protocol) -> np.ndarray:
        key = ("plane", *plane_key(protocol, self.gray))
        if key not in self._memo:
            self._memo[key] = measured_plane(self.hr, protocol=protocol, gray=self.gray)
        return self._memo[key]

    def ssim_maps(self, protocol: Protocol, window: str) -> list:
        """SSIM's maps of the whole measured plane (:func:`srbench.eval.metrics.ssim_reference`): every border crop
        is a crop of the SSIM map made with them (:meth:`ImageScorer.score`)."""
        key = ("ssim", *plane_key(protocol, self.gray), window)
        if key not in self._memo:
            self._memo[key] = ssim_reference(self.plane(protocol), window=window)
        return self._memo[key]


def same_pixels(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two images hold the same pixels (shape, dtype and values). Two views of one memory (every LR input's
    sample crops the same decoded HR) are equal without reading them."""
    if a is b:
        return True
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.__array_interface__["data"][0] == b.__array_interface__["data"][0] and a.strides == b.strides:
        return True
    return bool(np.array_equal(a, b))


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two arrays have the same shape, dtype and bytes (so every computation on them gives the same bits;
    ``==`` would also equate 0.0 and -0.0)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


@dataclass(frozen=True)
class ImageScore:
    """One image's PSNR (with the protocol's offset), SSIM and MSE (over the measured, cropped planes)."""

    psnr: float
    ssim: float
    mse: float


def check_size(hr_u8: np.ndarray, scale: int, border: int, name: str) -> None:
    """Refuse an image too small to measure (under the SSIM window once the border is cropped), naming it."""
    h, w = hr_u8.shape[:2]
    if min(h, w) - 2 * border < SSIM_WIN:
        raise SrbenchError(f"image {name or '(unnamed)'}: {w}x{h} px is too small to measure at x{scale}: after "
                           f"cropping {border} px from each border it is under the {SSIM_WIN}x{SSIM_WIN} SSIM window; "
                           "remove it from the dataset")


class ImageScorer:
    """Scores one image's output under any number of protocols, computing each intermediate once: the quantised
    output per ``quantize``, the measured planes per :func:`plane_key`, the MSE per border, the SSIM map per
    window (every border is a crop of it). Two quantisations whose measured planes are the same bits (``round``
    and ``truncate`` of an output already on the 8-bit grid, as bicubic's is) share one plane and its MSE and SSIM.
    The arithmetic is exactly :func:`score_pair`'s; only repeated work is skipped (``srbench explain`` measures
    one output under every protocol deviation).

    ``sr`` is the network's float output in [0, 1] (``quantized=False``) or an already 8-bit SR image
    (``quantized=True``: the ``quantize`` knob does not apply, as for a folder of SR images). ``reference``: the HR's
    :class:`Reference`, shared by the scorers of several outputs of one HR image, whose SSIM maps are then kept for
    all of them; when not given, the HR is this output's alone and SSIM makes its maps row by row without keeping
    them (:func:`srbench.eval.metrics.ssim_map`: the same values).
    """

    def __init__(self, sr: np.ndarray, hr_u8: np.ndarray, *, scale: int, gray: bool, name: str = "",
                 quantized: bool = False, reference: Reference | None = None) -> None:
        if sr.shape[:2] != hr_u8.shape[:2]:
            raise ValueError(f"SR {sr.shape} and HR {hr_u8.shape} differ in size")
        if reference is not None and not reference.matches(hr_u8, gray):
            raise ValueError(f"image {name or '(unnamed)'}: the reference given is not this HR image")
        self.sr, self.hr, self.scale, self.gray, self.name, self.quantized = sr, hr_u8, scale, gray, name, quantized
        self.reference = reference or Reference(hr_u8, gray=gray)
        # an HR measured against this one output only: SSIM makes its maps row by row instead of keeping them
        self._shared_reference = reference is not None
        self._memo: dict[tuple, object] = {}
        self._planes: dict[tuple, np.ndarray] = {}  # the distinct measured SR planes

    def _get(self, key: tuple, make):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def output(self, mode: str) -> np.ndarray:
        """The SR as measured under ``quantize=mode`` (the given image itself when it is already 8-bit)."""
        return self.sr if self.quantized else self._get(("q", mode), lambda: quantize(self.sr, mode))

    def _plane(self, protocol: Protocol) -> tuple[tuple, np.ndarray]:
        """(key, measured SR plane) under ``protocol``: the key of an identical plane already measured under another
        quantisation when there is one (the same bits: every metric of it is the same number), else its own."""
        key = ("given" if self.quantized else protocol.quantize, *plane_key(protocol, self.gray))
        if ("alias", key) not in self._memo:
            plane = measured_plane(self.output(protocol.quantize), protocol=protocol, gray=self.gray)
            same = next((k for k in self._planes if k[1:] == key[1:] and same_bits(self._planes[k], plane)), None)
            self._memo[("alias", key)] = same or key
            if same is None:
                self._planes[key] = plane
        alias = self._memo[("alias", key)]
        return alias, self._planes[alias]

    def _ssim(self, sr_plane: np.ndarray, hr_plane: np.ndarray, protocol: Protocol, planes_key: tuple, border: int,
              window: str) -> float:
        """SSIM over the planes cropped by ``border``: the mean of the border's crop of the whole planes' SSIM map
        (per channel), which is the cropped planes' own SSIM map bit for bit (:func:`srbench.eval.metrics.ssim_map`),
        so every border is measured on one map; its mean adds in the order of the crop's contiguous copy
        (:func:`srbench.eval.metrics.cropped_mean`)."""
        maps = self._get(("ssim_map", planes_key, window), lambda: ssim_maps(
            sr_plane, hr_plane, window=window,
            reference=self.reference.ssim_maps(protocol, window)
            if self._shared_reference and self.reference.keeps(protocol, window) else None))
        means = [cropped_mean(m, border) for m in maps]
        return means[0] if len(means) == 1 else float(np.mean(means))

    def score(self, protocol: Protocol) -> ImageScore:
        border = protocol.border_for(self.scale)
        check_size(self.hr, self.scale, border, self.name)
        planes_key, sr_plane = self._plane(protocol)
        hr_plane = self.reference.plane(protocol)
        error = self._get(("mse", planes_key, border), lambda: cropped_mse(sr_plane, hr_plane, border))
        window = ssim_window(protocol)
        s = self._get(("ssim", planes_key, border, window), lambda: self._ssim(sr_plane, hr_plane, protocol,
                                                                              planes_key, border, window))
        p = psnr_from_mse(error, data_range=255.0)
        return ImageScore(p + DOUBLE_SCALE_DB if protocol.double_scale else p, s, error)


def score_pair(sr_u8: np.ndarray, hr_u8: np.ndarray, *, scale: int, protocol: Protocol,
               gray: bool, name: str = "") -> tuple[float, float]:
    """(PSNR, SSIM) of an 8-bit SR output against its (scale-cropped) 8-bit HR under ``protocol``.

    An image too small to measure (under the SSIM window once the border is cropped) is a ``SrbenchError`` naming
    ``name`` (the image's name, for the message) and its size.
    """
    scored = ImageScorer(sr_u8, hr_u8, scale=scale, gray=gray, name=name, quantized=True).score(protocol)
    return scored.psnr, scored.ssim


def dataset_psnr(scores: list[ImageScore], protocol: Protocol) -> float:
    """A dataset's PSNR under ``protocol.aggregate``: the mean of the images' PSNR (``per_image``) or the PSNR of
    the mean of their MSE (``dataset_mse``, with the protocol's offset)."""
    if not scores:
        return float("nan")
    if protocol.aggregate == "per_image":
        return float(np.mean([s.psnr for s in scores]))
    p = psnr_from_mse(float(np.mean([s.mse for s in scores])), data_range=255.0)
    return p + DOUBLE_SCALE_DB if protocol.double_scale else p


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
    sr, hr = shave(to_rgb(to_8bit(sr_u8)), border), shave(to_rgb(hr_u8), border)  # quantize='float': rounded
    hr = np.ascontiguousarray(hr)
    return lpips_distance(np.ascontiguousarray(sr), hr, input_range=protocol.lpips_input, net=net,
                          hr_features=hr_features(net, hr, protocol.lpips_input))
