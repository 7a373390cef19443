"""Reading and writing 8-bit images, with one-line errors that name the file.

``read_image`` returns uint8 HxW for single-channel (``L``) images and HxWx3 for everything else (palette, RGBA and
grayscale-with-alpha become RGB); 16-bit and float images are refused rather than silently rescaled. ``write_image``
writes to a temporary file beside the target and renames it, so a reader never sees a partial file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from srbench.core.errors import SrbenchError

_EIGHT_BIT_MODES = {"L", "RGB", "RGBA", "P", "PA", "LA", "CMYK", "YCbCr", "1"}


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to uint8: HxW for ``L``/``1`` images, HxWx3 otherwise."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode not in _EIGHT_BIT_MODES:
                raise SrbenchError(f"{path}: image mode {mode!r} is not 8-bit; convert it to 8-bit RGB or gray PNG")
            if mode == "1":
                im = im.convert("L")
            elif mode not in ("L", "RGB"):
                im = im.convert("RGB")
            return np.asarray(im, dtype=np.uint8).copy()
    except SrbenchError:
        raise
    except FileNotFoundError:
        raise SrbenchError(f"{path}: file not found") from None
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise SrbenchError(f"{path}: unreadable or corrupt image ({exc}); "
                           "replace the file or re-run `srbench data`") from None


def png_text(path: str | os.PathLike) -> dict[str, str]:
    """The text chunks before the pixel data of a PNG, without decoding the pixels; ``{}`` if there are none or the
    file cannot be parsed (the pixel read reports that)."""
    try:
        with Image.open(path) as im:
            return {k: v for k, v in im.info.items() if isinstance(v, str)}
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return {}


def write_image(path: str | os.PathLike, array: np.ndarray, *, text: dict[str, str] | None = None) -> None:
    """Write a uint8 HxW or HxWx3 array as an image (format from the suffix), atomically (temp file + rename).

    ``text`` is stored as PNG text chunks (PNG only), ahead of the pixel data so ``png_text`` reads it cheaply."""
    path = Path(path)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise SrbenchError(f"{path}: can only write uint8 HxW or HxWx3 images, got {array.dtype} {array.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
        options = {}
        if text and fmt == "PNG":
            info = PngImagePlugin.PngInfo()
            for key, value in text.items():
                info.add_text(key, value)
            options["pnginfo"] = info
        with os.fdopen(fd, "wb") as fh:
            Image.fromarray(array).save(fh, format=fmt, **options)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_rgb(img: np.ndarray) -> np.ndarray:
    """An HxW gray image replicated to HxWx3 (what the networks see); HxWx3 images are returned unchanged."""
    if img.ndim == 3:
        return img
    return np.repeat(img[..., None], 3, axis=2)


def crop_to_scale(img: np.ndarray, scale: int) -> np.ndarray:
    """The top-left part of ``img`` whose height and width are multiples of ``scale`` (how every HR is cropped)."""
    h, w = img.shape[:2]
    return img[:h - h % scale, :w - w % scale]
