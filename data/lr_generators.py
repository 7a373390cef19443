"""LR images made by other libraries' bicubic: the LR side of "why is my PSNR not the paper's?".

The benchmark's LR images were made by MATLAB's ``imresize`` (reproduced by :mod:`srbench.core.imresize`, the
``generate`` source). Many codebases make their own instead; each generator here is one of them, applied to the
8-bit HR image exactly as such scripts do:

========== ==================================================================================================
``generate`` MATLAB-compatible ``imresize`` (Keys a = -0.5, antialiased, rounded after each axis)
``pil``      ``PIL.Image.resize(size, Image.BICUBIC)`` on the uint8 image (Pillow's own fixed-point rounding)
``opencv``   ``cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)`` on the uint8 image (Keys a = -0.75, no
             antialiasing; optional package ``opencv-python-headless``). The array stays in RGB order: ``resize``
             treats channels independently, so no BGR conversion is needed (``tests/test_lr_generators.py``)
``torch``    ``F.interpolate(x, size, mode='bicubic', align_corners=False)`` on float32 in 0-255, then clamped to
             [0, 255] and rounded half to even (``torch.round``) to uint8
``torch_aa`` the same with ``antialias=True``
========== ==================================================================================================

Mod-crop (``modcrop``): with it (the benchmark's files) the HR is first cropped at the top-left to a multiple of the
scale and resized by exactly 1/s; without it the whole HR is resized to floor(H/s) x floor(W/s), so the library
uses the ratio H / floor(H/s) (scripts that call ``resize((w // s, h // s))`` on the uncropped image). Either way
the LR has the mod-cropped HR's size / s, and the measurement compares the SR with the mod-cropped HR.

Every generated LR is cached in the store's cache (``<cache>/lr/<generator key>/<HR sha256>_x<s>.png``, see
:func:`cache_file`), never at the layout's ``<name>x<s>.png``: the key hashes the generator, its parameters, the
dtype it computes in, its rounding, the library's version and this module's code, so two generators (or two
versions of one library) never share a file. The cached file carries the same provenance chunks as the MATLAB
generator's (:mod:`srbench.data.datasets`), checked before it is reused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from collections.abc import Callable

import numpy as np

from srbench.core.constants import LR_SOURCES
from srbench.core.errors import SrbenchError
from srbench.core.code_identity import source_fingerprint
from srbench.core.imresize import output_length, resize_axis, imresize
from srbench.core.store import cache_root

#: the suffix of an ``lr_input`` made without mod-cropping the HR first (``Protocol.lr_input``)
FULL_SUFFIX = "/full"


@dataclass(frozen=True)
class Generator:
    """One way to make an LR image: its name, the library it calls (None: srbench's own code), the dtype it computes
    in and how the result is rounded to 8 bits; ``antialias`` only for PyTorch."""

    name: str
    library: str | None
    dtype: str
    rounding: str
    antialias: bool = False


GENERATORS: dict[str, Generator] = {
    "generate": Generator("generate", None, "float64", "half away from zero after each axis (MATLAB)"),
    "pil": Generator("pil", "PIL", "uint8", "Pillow fixed point"),
    "opencv": Generator("opencv", "cv2", "uint8", "OpenCV fixed point"),
    "torch": Generator("torch", "torch", "float32", "clamp 0-255, round half to even"),
    "torch_aa": Generator("torch_aa", "torch", "float32", "clamp 0-255, round half to even", antialias=True),
}


def split_lr_input(lr_input: str) -> tuple[str, bool]:
    """``pil`` -> (``pil``, True); ``pil/full`` -> (``pil``, False): the LR source and whether the HR is mod-cropped.
    Anything else is a one-line error."""
    source, full = (lr_input[:-len(FULL_SUFFIX)], True) if lr_input.endswith(FULL_SUFFIX) else (lr_input, False)
    if source not in LR_SOURCES or (full and source == "file"):
        known = ", ".join(LR_SOURCES)
        raise SrbenchError(f"lr_source={lr_input!r} is not one of {known} (optionally with {FULL_SUFFIX}: no "
                           "mod-crop, not for file)")
    return source, not full


def library_version(gen: Generator) -> str:
    """The version of the library the generator calls ('' for srbench's own); a missing optional package is a
    one-line error naming what to install."""
    if gen.library is None:
        return ""
    try:
        module = __import__(gen.library)
    except ImportError:
        package = {"cv2": "opencv-python-headless"}.get(gen.library, gen.library)
        raise SrbenchError(f"LR source {gen.name!r} needs the package {package} (pip install {package}); it is "
                           "optional, the other LR sources work without it") from None
    return str(module.__version__)


def available(name: str) -> bool:
    """True when the generator ``name`` can run here (its library imports)."""
    try:
        library_version(GENERATORS[name])
    except SrbenchError:
        return False
    return True


@cache
def generator_key(name: str, modcrop: bool, scale: int) -> str:
    """What names a generator's cache folder and is stamped in its files: generator, parameters, dtype, rounding,
    library version and this module's code, hashed (readable prefix: the generator and mod-crop)."""
    gen = GENERATORS[name]
    fields = {"generator": gen.name, "antialias": gen.antialias, "modcrop": modcrop, "scale": scale,
              "dtype": gen.dtype, "rounding": gen.rounding, "library": gen.library or "srbench",
              "version": library_version(gen), "code": source_fingerprint(Path(__file__).read_text())}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    return f"{name}{'' if modcrop else '-full'}-{digest}"


def cache_file(name: str, modcrop: bool, scale: int, hr_sha: str) -> Path:
    """Where the LR the generator makes from the HR file ``hr_sha`` is cached."""
    return cache_root() / "lr" / generator_key(name, modcrop, scale) / f"{hr_sha}_x{scale}.png"


def lr_size(hr: np.ndarray, scale: int) -> tuple[int, int]:
    """(height, width) of the LR: the mod-cropped HR's size / s, i.e. floor(H/s) x floor(W/s)."""
    return hr.shape[0] // scale, hr.shape[1] // scale


def matlab_to_size(hr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """MATLAB's ``imresize(img, [h w], 'bicubic')`` on uint8: each axis by its own ratio out/in, the axis with the
    smaller ratio first (height on a tie), rounded after each axis."""
    ratios = [size[0] / hr.shape[0], size[1] / hr.shape[1]]
    out = hr
    for axis in sorted((0, 1), key=lambda a: ratios[a]):
        resized = resize_axis(out.astype(np.float64), axis, ratios[axis], size[axis])
        out = np.floor(np.clip(resized, 0.0, 255.0) + 0.5).astype(np.uint8)
    return out


def _matlab(hr: np.ndarray, scale: int, size: tuple[int, int], exact: bool) -> np.ndarray:
    if exact and (output_length(hr.shape[0], 1 / scale), output_length(hr.shape[1], 1 / scale)) == size:
        return imresize(hr, 1.0 / scale)
    return matlab_to_size(hr, size)


def _pil(hr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(hr).resize((size[1], size[0]), Image.BICUBIC))


def _opencv(hr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(np.ascontiguousarray(hr), (size[1], size[0]), interpolation=cv2.INTER_CUBIC)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float pixels in 0-255 -> uint8: clamp to [0, 255], round half to even (what ``torch.round`` does)."""
    return np.rint(np.clip(x, 0.0, 255.0)).astype(np.uint8)


def _torch(hr: np.ndarray, size: tuple[int, int], antialias: bool) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    chw = hr[None] if hr.ndim == 2 else hr.transpose(2, 0, 1)  # HxW(xC) -> CxHxW
    x = torch.from_numpy(np.ascontiguousarray(chw, dtype=np.float32)).unsqueeze(0)
    y = F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=antialias)
    out = y.squeeze(0).numpy()
    return to_uint8(out[0] if hr.ndim == 2 else out.transpose(1, 2, 0))


def make_lr(name: str, hr_full: np.ndarray, scale: int, *, modcrop: bool = True) -> np.ndarray:
    """The LR generator ``name`` makes from the *uncropped* 8-bit HR ``hr_full`` at ``scale`` (HxW or HxWx3 uint8):
    from its top-left mod-crop with ``modcrop``, else from the whole image resized to floor(H/s) x floor(W/s)."""
    gen = GENERATORS[name]
    library_version(gen)  # a missing optional package: one line, before any work
    if hr_full.dtype != np.uint8:
        raise SrbenchError(f"LR generation expects an 8-bit HR image, got {hr_full.dtype}")
    size = lr_size(hr_full, scale)
    hr = hr_full[:size[0] * scale, :size[1] * scale] if modcrop else hr_full
    makers: dict[str, Callable[[], np.ndarray]] = {
        "generate": lambda: _matlab(hr, scale, size, modcrop), "pil": lambda: _pil(hr, size),
        "opencv": lambda: _opencv(hr, size), "torch": lambda: _torch(hr, size, gen.antialias),
        "torch_aa": lambda: _torch(hr, size, gen.antialias)}
    lr = makers[name]()
    if lr.shape[:2] != size or lr.dtype != np.uint8:
        raise SrbenchError(f"LR source {name}: made a {lr.dtype} image of {lr.shape}, expected uint8 {size}")
    return lr
