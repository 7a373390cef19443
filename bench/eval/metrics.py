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
from dataclasses import dataclass

import numpy as np

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


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma in 16-235: Y = 16 + 65.481 R + 128.553 G + 24.966 B with R, G, B in [0, 1] (image given in 0-255)."""
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"rgb_to_y expects an HxWx3 image, got shape {img.shape}")
    # 16 + (65.481 R + 128.553 G + 24.966 B) on R, G, B = img / 255, evaluated in place in that order (IEEE
    # products and sums commute, so each value is the expression's bit for bit, with four fewer full-size temporaries)
    rgb = img.astype(np.float64)
    rgb /= 255.0
    y = np.multiply(rgb[..., 0], 65.481)
    part = np.multiply(rgb[..., 1], 128.553)
    y += part
    y += np.multiply(rgb[..., 2], 24.966, out=part)
    y += 16.0
    return y


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
    """Full-range BT.601 luma in 0-255: Y = 0.299 R + 0.587 G + 0.114 B with R, G, B in 0-255, not rounded."""
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"rgb_to_y_full expects an HxWx3 image, got shape {img.shape}")
    rgb = img.astype(np.float64, copy=False)
    y = np.multiply(rgb[..., 0], 0.299)  # in place, in the expression's order (see rgb_to_y)
    part = np.multiply(rgb[..., 1], 0.587)
    y += part
    y += np.multiply(rgb[..., 2], 0.114, out=part)
    return y


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over all elements, in float64."""
    check_pair(a, b)
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


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


#: rows of the image filtered at a time by :func:`filter_valid`: small enough that a band's intermediate rows stay in
#: the CPU's cache (32 measured fastest on 644x1024 images: 8.8 ms, against 17.2 ms for scipy's two passes)
FILTER_BAND_ROWS = 32


def _symmetric_pass(x: np.ndarray, w: np.ndarray, axis: int, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """The valid positions of the 1-D correlation of ``x`` with the symmetric window ``w`` along ``axis``, into
    ``out``, with scipy.ndimage.correlate1d's own operations in its own order (its symmetric path, ``ni_filters.c``):
    the centre tap times its weight, then, from the outermost pair of taps inwards, ``+= (left + right) * weight``.
    Each numpy operation rounds like the C statement it replaces (no fused multiply-add on either side), so every
    value is scipy's bit for bit (``tests/test_metrics.py``)."""
    r, n = w.size // 2, x.shape[axis]
    tap = (lambda lo, hi: x[lo:hi]) if axis == 0 else (lambda lo, hi: x[:, lo:hi])
    np.multiply(tap(r, n - r), w[r], out=out)
    for k in range(r, 0, -1):
        np.add(tap(r - k, n - r - k), tap(r + k, n - r + k), out=tmp)
        tmp *= w[r - k]
        out += tmp
    return out


def filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 2-D correlation of a 2-D float64 image with ``outer(g, g)`` at the valid positions only.

    The values of ``scipy.ndimage.correlate1d`` along axis 0, then along axis 1, cropped to the positions where the
    window lies wholly inside the image (so the padding never enters), bit for bit; computed here in bands of
    :data:`FILTER_BAND_ROWS` rows, both passes per band (:func:`_symmetric_pass`), about twice as fast as scipy's
    two whole-image passes. Each value depends only on the pixels under its window, so the valid maps of a cropped
    image are the same crop of the whole image's valid maps, bit for bit (``tests/test_metrics.py``).
    """
    r = g.size // 2
    if g.size % 2 != 1 or not np.array_equal(g, g[::-1]):
        raise ValueError("the SSIM window must have odd size and be symmetric")
    img = np.asarray(img, dtype=np.float64)
    rows, cols = img.shape[0] - 2 * r, img.shape[1] - 2 * r
    out = np.empty((max(rows, 0), max(cols, 0)))
    band = min(FILTER_BAND_ROWS, max(rows, 1))
    vertical, vertical_tmp = np.empty((band, img.shape[1])), np.empty((band, img.shape[1]))
    horizontal_tmp = np.empty((band, max(cols, 0)))
    for lo in range(0, rows, band):
        n = min(band, rows - lo)
        _symmetric_pass(img[lo:lo + n + 2 * r], g, 0, vertical[:n], vertical_tmp[:n])
        _symmetric_pass(vertical[:n], g, 1, out[lo:lo + n], horizontal_tmp[:n])
    return out


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


def _reference_maps(mu: np.ndarray, sq: np.ndarray, cov_norm: float) -> ReferenceMaps:
    mu_sq = mu * mu
    var = sq - mu_sq
    return ReferenceMaps(mu, mu_sq, var * cov_norm if cov_norm != 1.0 else var)


def ssim_reference(b: np.ndarray, *, window: str = "gaussian11") -> list[ReferenceMaps]:
    """The maps of a reference image that SSIM needs (its filtered local mean and variance, per channel of an HxWxC
    image): computed once, they can be passed to :func:`ssim` for every image measured against ``b``; the SSIM is
    then the very same number, with two of its five filterings and the reference's own arithmetic skipped."""
    g, cov_norm = _window(window)
    planes = [b] if b.ndim == 2 else [b[..., c] for c in range(b.shape[2])]
    out = []
    for plane in planes:
        plane = plane.astype(np.float64, copy=False)
        mu, sq = _pool().map(lambda img: filter_valid(img, g), (plane, plane * plane))
        out.append(_reference_maps(mu, sq, cov_norm))
    return out


def _band_map(a: np.ndarray, b: np.ndarray, reference: ReferenceMaps | None, g: np.ndarray, cov_norm: float,
              c1: float, c2: float) -> np.ndarray:
    """The valid SSIM map of one band of rows (filtered one map after the other: the bands run on the pool)."""
    mu_a, e_aa, e_ab = (filter_valid(img, g) for img in (a, a * a, a * b))
    if reference is None:
        reference = _reference_maps(filter_valid(b, g), filter_valid(b * b, g), cov_norm)
    mu_b = reference.mu
    # ((2 mu_a mu_b + c1)(2 cov + c2)) / ((mu_a^2 + mu_b^2 + c1)(var_a + var_b + c2)), each operation as the textbook
    # expression evaluates it (x ** 2 is x * x in numpy), computed in place on the filtered maps
    mu_aa = mu_a * mu_a
    var_a = np.subtract(e_aa, mu_aa, out=e_aa)
    cov = np.subtract(e_ab, np.multiply(mu_a, mu_b), out=e_ab)
    if cov_norm != 1.0:
        var_a *= cov_norm
        cov *= cov_norm
    num = np.multiply(mu_a, 2.0, out=mu_a)
    num *= mu_b
    num += c1
    cov *= 2.0
    cov += c2
    num *= cov
    den = np.add(mu_aa, reference.mu_sq, out=mu_aa)
    den += c1
    var_a += reference.var
    var_a += c2
    den *= var_a
    num /= den
    return num


def _rows(ref: ReferenceMaps, lo: int, hi: int) -> ReferenceMaps:
    return ReferenceMaps(ref.mu[lo:hi], ref.mu_sq[lo:hi], ref.var[lo:hi])


def ssim_map(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0, window: str = "gaussian11",
             reference: ReferenceMaps | None = None) -> np.ndarray:
    """The SSIM map of two HxW images at the valid window positions (a new C-contiguous array; SSIM is its mean).
    ``reference``: one channel of ``ssim_reference(b, window=window)``.

    Each value depends only on the pixels under its window (:func:`filter_valid`), so the map of a crop is the
    crop of the map, bit for bit: one map serves every border crop of a pair, and the map is computed in bands of
    :data:`FILTER_BAND_ROWS` rows (each with the window's overlap, small enough that its filtered maps and the
    arithmetic on them stay in the CPU's cache) on two threads (numpy releases the GIL), then stacked.
    """
    g, cov_norm = _window(window)
    if min(a.shape) < g.size:
        raise ValueError(f"SSIM needs images of at least {g.size}x{g.size} pixels, got {a.shape}")
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    valid, r = a.shape[0] - g.size + 1, g.size // 2
    cuts = [*range(0, valid, FILTER_BAND_ROWS), valid]  # bands small enough to stay in cache, shared by 2 threads
    bands = list(zip(cuts, cuts[1:]))
    maps = _pool().map(lambda band: _band_map(a[band[0]:band[1] + 2 * r], b[band[0]:band[1] + 2 * r],
                                              None if reference is None else _rows(reference, *band),
                                              g, cov_norm, c1, c2), bands)
    # contiguous, so that its mean adds in the order of the textbook expression's fresh array
    return np.concatenate(list(maps)) if len(bands) > 1 else np.ascontiguousarray(next(iter(maps)))


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
