"""Image-quality metrics as pure functions on numpy arrays (pyiqa-style): no I/O, no protocol, no state.

Which pixels, which channels and which rounding are measured is decided by ``srbench.eval.scoring`` from a ``Protocol``; this
module only computes the standard definitions:

* ``rgb_to_y``: BT.601 luma as MATLAB's ``rgb2ycbcr`` computes it on [0, 1] RGB, kept as float (not rounded);
  ``rgb_to_y_full``: full-range BT.601 luma 0.299 R + 0.587 G + 0.114 B on 0-255 RGB, kept as float;
* ``mse`` and ``psnr``: the mean squared error and 10 log10(peak^2 / MSE) in float64, ``inf`` for identical images;
* ``ssim``: Wang et al. with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, over the *valid* window
  positions only (no padding), mean of the map; channels averaged. Equal to
  ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``, which pads
  and then crops ``(win - 1) // 2`` from the map borders. ``window='uniform7'`` is scikit-image's default instead: a
  7x7 uniform window and the sample covariance (variances and covariance times N / (N - 1), N = 49).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from srbench.eval import _kernels

SSIM_WIN = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """Two filtering threads (see :func:`ssim_map`), one pool per process: a pool inherited through ``fork`` has no
    threads in the child and would wait forever."""
    pid = os.getpid()
    if pid not in _POOLS:
        _POOLS[pid] = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ssim")
    return _POOLS[pid]


#: images with fewer (valid) rows than this are computed on one thread (splitting them costs more than it saves)
SPLIT_MIN_ROWS = 64


#: False inside :func:`on_one_thread` (per thread: a context variable)
_SPLIT = ContextVar("srbench_split_rows", default=True)


@contextmanager
def on_one_thread():
    """Within the block, :func:`by_halves` computes whole images on the calling thread (only for the thread that
    entered it). For scoring that runs beside another busy thread on a machine with no core to spare for a second
    half: ``srbench explain`` scores one image while a thread runs the next image's forward passes, and on two cores
    the two halves and the passes would take turns on them. The same values; only where they are computed changes."""
    token = _SPLIT.set(False)
    try:
        yield
    finally:
        _SPLIT.reset(token)


def by_halves(rows: int, compute) -> None:
    """``compute(lo, hi)`` over the rows ``0:rows``, in two halves on the two threads of :func:`_pool` (the
    compiled kernels release the GIL); a small image, or any image inside :func:`on_one_thread`, in one call."""
    if rows < SPLIT_MIN_ROWS or not _SPLIT.get():
        compute(0, rows)
        return
    half = rows // 2
    list(_pool().map(lambda band: compute(*band), ((0, half), (half, rows))))


def _plane64(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _luma(img: np.ndarray, *, limited: bool, name: str) -> np.ndarray:
    """BT.601 luma of an HxWx3 image as float64 (:func:`rgb_to_y`, :func:`rgb_to_y_full`), two halves on two threads.

    The pixels are read in their own memory layout: interleaved, a network's channels-first output, bicubic's
    column-major one; only a view with gaps (a crop) is copied first."""
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"{name} expects an HxWx3 image, got shape {img.shape}")
    if img.dtype not in (np.uint8, np.float32, np.float64):
        img = img.astype(np.float64)
    out = np.empty(img.shape[:2])
    h, w = out.shape
    block, back = memory_block(img)
    row, col, chan = (stride // block.itemsize for stride in block.transpose(back).strides)
    by_halves(h, lambda lo, hi: _kernels.luma_rows(block, block.itemsize, h, w, row, col, chan, limited, lo, hi, out))
    return out


def memory_block(x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """``x``'s elements as one C-contiguous block, its axes in memory order (outermost first), and the permutation
    that gives ``x``'s own axes back (``block.transpose(back)`` is ``x``'s shape): without copying when the elements
    already fill one block in some order of the axes (interleaved, channels first, column-major), else copied (a
    crop, a reversed view)."""
    order = tuple(int(axis) for axis in np.argsort(x.strides, kind="stable")[::-1])
    block = np.ascontiguousarray(x.transpose(order))
    return block, tuple(int(axis) for axis in np.argsort(order))


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma in 16-235: Y = 16 + 65.481 R + 128.553 G + 24.966 B with R, G, B in [0, 1] (image given in 0-255),
    as float64: each value the expression's ``16 + ((65.481 R + 128.553 G) + 24.966 B)`` on ``R = img[..., 0] / 255``
    (IEEE sums commute), computed by the compiled kernel of ``srbench.eval._kernels`` (``_kernels.c``)."""
    return _luma(img, limited=True, name="rgb_to_y")


def shave(img: np.ndarray, border: int) -> np.ndarray:
    """Crop ``border`` pixels from every side (a view); ``border=0`` returns the image unchanged."""
    if border < 0:
        raise ValueError(f"border must be >= 0, got {border}")
    if border == 0:
        return img
    if img.shape[0] <= 2 * border or img.shape[1] <= 2 * border:
        raise ValueError(f"cannot shave {border} px from an image of shape {img.shape}")
    return img[border:-border, border:-border]


def check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")


def rgb_to_y_full(img: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma in 0-255: Y = 0.299 R + 0.587 G + 0.114 B with R, G, B in 0-255, not rounded (float64,
    added in that order; the compiled kernel of ``srbench.eval._kernels`` (``_kernels.c``))."""
    return _luma(img, limited=False, name="rgb_to_y_full")


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over all elements, in float64."""
    check_pair(a, b)
    d = np.subtract(a, b, dtype=np.float64)  # ``(a.astype(f64) - b.astype(f64)) ** 2`` without its two copies
    np.multiply(d, d, out=d)
    return float(d.mean())


def _crop_mean(a: np.ndarray, b: np.ndarray | None, border: int) -> float | None:
    """The compiled crop mean (``_kernels.crop_mean``) of ``a`` (or of ``(a - b) ** 2``) over ``shave(., border)``;
    None when an array is not a C-contiguous float64 HxW or HxWxC array (the caller then takes numpy's path)."""
    arrays = (a,) if b is None else (a, b)
    if any(x.dtype != np.float64 or not x.flags.c_contiguous or x.ndim not in (2, 3) for x in arrays):
        return None
    h, w = a.shape[:2]
    if h <= 2 * border or w <= 2 * border:
        return None  # shave's error
    return _kernels.crop_mean(a, b, h, w, a.shape[2] if a.ndim == 3 else 1, border)


def cropped_mse(a: np.ndarray, b: np.ndarray, border: int) -> float:
    """``mse(shave(a, border), shave(b, border))`` bit for bit, without making the crop's differences as an array:
    for C-contiguous float64 planes the compiled kernel adds the squared differences in the very order numpy's mean
    of their contiguous array does (pairwise; ``tests/test_metrics.py`` compares the bits)."""
    check_pair(a, b)
    value = _crop_mean(a, b, border)
    return mse(shave(a, border), shave(b, border)) if value is None else value


def cropped_mean(x: np.ndarray, border: int) -> float:
    """``np.ascontiguousarray(shave(x, border)).mean()`` bit for bit (a crop of an SSIM map), without the copy."""
    value = _crop_mean(x, None, border)
    return float(np.ascontiguousarray(shave(x, border)).mean()) if value is None else value


def psnr_from_mse(error: float, *, data_range: float = 255.0) -> float:
    """10 log10(peak^2 / MSE); ``inf`` for a zero error."""
    if error == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range ** 2 / error))


def psnr(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over all elements; ``inf`` when the images are identical."""
    return psnr_from_mse(mse(a, b), data_range=data_range)


def gaussian_window(size: int = SSIM_WIN, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian; its outer product with itself is the 2-D SSIM window."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


#: SSIM windows: the standard 11x11 Gaussian (sigma 1.5), or scikit-image's default 7x7 uniform window with the
#: sample covariance
SSIM_WINDOWS = ("gaussian11", "uniform7")
UNIFORM_WIN = 7


def _window(window: str) -> tuple[np.ndarray, float]:
    """The 1-D window and the covariance factor of an SSIM ``window`` (one of SSIM_WINDOWS)."""
    if window == "gaussian11":
        return gaussian_window(), 1.0
    if window == "uniform7":
        # sample covariance over the window's N pixels
        return np.full(UNIFORM_WIN, 1.0 / UNIFORM_WIN), UNIFORM_WIN ** 2 / (UNIFORM_WIN ** 2 - 1.0)
    raise ValueError(f"SSIM window must be one of {', '.join(SSIM_WINDOWS)}, got {window!r}")


@dataclass(frozen=True)
class ReferenceMaps:
    """What SSIM needs of one reference plane, computed once for every image measured against it: its filtered
    local mean ``mu``, ``mu * mu``, and its local variance ``var`` (times the window's covariance factor)."""

    mu: np.ndarray
    mu_sq: np.ndarray
    var: np.ndarray


def _reference_plane(b: np.ndarray, window: str) -> ReferenceMaps:
    g, cov_norm = _window(window)
    b = _plane64(b)
    if min(b.shape) < g.size:
        raise ValueError(f"SSIM needs images of at least {g.size}x{g.size} pixels, got {b.shape}")
    rows, cols = b.shape[0] - g.size + 1, b.shape[1] - g.size + 1
    maps = ReferenceMaps(np.empty((rows, cols)), np.empty((rows, cols)), np.empty((rows, cols)))
    by_halves(rows, lambda lo, hi: _kernels.reference_rows(b, *b.shape, g, cov_norm, lo, hi, maps.mu, maps.mu_sq,
                                                            maps.var))
    return maps


def ssim_reference(b: np.ndarray, *, window: str = "gaussian11") -> list[ReferenceMaps]:
    """The maps of a reference image that SSIM needs (its filtered local mean and variance, per channel of an HxWxC
    image): computed once, they can be passed to :func:`ssim` for every image measured against ``b``; the SSIM is
    then the very same number, with two of its five filterings and the reference's own arithmetic skipped."""
    planes = [b] if b.ndim == 2 else [b[..., c] for c in range(b.shape[2])]
    return [_reference_plane(plane, window) for plane in planes]


def ssim_map(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0, window: str = "gaussian11",
             reference: ReferenceMaps | None = None) -> np.ndarray:
    """The SSIM map of two HxW images at the valid window positions (a new C-contiguous array; SSIM is its mean).
    ``reference``: one channel of ``ssim_reference(b, window=window)``.

    The valid positions of scipy.ndimage.correlate1d along axis 0 then axis 1 for the five filtered maps (so the
    padding never enters), then the textbook expression, every value bit for bit, computed row by row by the
    compiled kernel of ``srbench.eval._kernels`` (``_kernels.c``), the two halves of the image on two threads. Each value
    depends only on the pixels under its window, so the map of a crop is the crop of the map, bit for bit: one map
    serves every border crop of a pair (``tests/test_metrics.py``).
    """
    g, cov_norm = _window(window)
    if min(a.shape) < g.size:
        raise ValueError(f"SSIM needs images of at least {g.size}x{g.size} pixels, got {a.shape}")
    check_pair(a, b)
    a, b = _plane64(a), _plane64(b)
    valid = (a.shape[0] - g.size + 1, a.shape[1] - g.size + 1)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    out = np.empty(valid)
    if reference is None:  # b's maps made row by row beside the map's rows, never stored (the same values)
        by_halves(valid[0], lambda lo, hi: _kernels.ssim_rows_fused(a, b, *a.shape, g, cov_norm, c1, c2, lo, hi, out))
        return out
    ref = reference
    if any(m.shape != valid or not m.flags.c_contiguous or m.dtype != np.float64 for m in (ref.mu, ref.mu_sq, ref.var)):
        # the compiled kernel reads them unchecked: a reference of another image must not reach it
        raise ValueError(f"the reference maps are not those of a {a.shape} image under window {window!r}")
    by_halves(valid[0], lambda lo, hi: _kernels.ssim_rows(a, b, *a.shape, g, cov_norm, c1, c2, ref.mu, ref.mu_sq,
                                                          ref.var, lo, hi, out))
    return out


def ssim_maps(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0, window: str = "gaussian11",
              reference: list[ReferenceMaps] | None = None) -> list[np.ndarray]:
    """The SSIM map (:func:`ssim_map`) of each channel of two HxW or HxWxC images: :func:`ssim` is the mean over
    channels of their means."""
    check_pair(a, b)
    if a.ndim not in (2, 3):
        raise ValueError(f"ssim expects HxW or HxWxC images, got shape {a.shape}")
    pairs = [(a, b)] if a.ndim == 2 else [(a[..., c], b[..., c]) for c in range(a.shape[2])]
    return [ssim_map(x, y, data_range=data_range, window=window, reference=None if reference is None else reference[c])
            for c, (x, y) in enumerate(pairs)]


def _ssim_2d(a: np.ndarray, b: np.ndarray, data_range: float, window: str = "gaussian11",
             reference: ReferenceMaps | None = None) -> float:
    return float(ssim_map(a, b, data_range=data_range, window=window, reference=reference).mean())


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0, window: str = "gaussian11",
         reference: list[ReferenceMaps] | None = None) -> float:
    """Mean SSIM of two HxW images, or the mean over channels of two HxWxC images (``window``: SSIM_WINDOWS).
    ``reference``: ``ssim_reference(b, window=window)``, when ``b`` is measured against several images."""
    check_pair(a, b)
    if a.ndim not in (2, 3):
        raise ValueError(f"ssim expects HxW or HxWxC images, got shape {a.shape}")
    if a.ndim == 2:
        return _ssim_2d(a, b, data_range, window, None if reference is None else reference[0])
    return float(np.mean([_ssim_2d(a[..., c], b[..., c], data_range, window,
                                   None if reference is None else reference[c]) for c in range(a.shape[2])]))
