"""Reading and writing 8-bit images, and listing a folder's images, with one-line errors that name the file.

``read_image`` returns uint8 HxW for single-channel (``L``) images and HxWx3 for everything else (palette, RGBA and
grayscale-with-alpha become RGB); 16-bit and float images are refused rather than silently rescaled. That includes
the 16-bit colour PNGs and TIFFs that PIL itself opens as 8-bit RGB(A), dropping the low byte: their bit depth is read
from the file (the PNG IHDR chunk, the TIFF BitsPerSample tag). ``write_image`` writes to a temporary file beside the
target and renames it (``srbench.core.atomic``), so a reader never sees a partial file.

``image_files`` lists the images of a folder by suffix, case-insensitively (``IMAGE_SUFFIXES``), and refuses anything
it would otherwise skip silently: other files, broken or looping symbolic links, two images with one name.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from srbench.core.atomic import atomic_path
from srbench.core.errors import SrbenchError

_EIGHT_BIT_MODES = {"L", "RGB", "RGBA", "P", "PA", "LA", "CMYK", "YCbCr", "1"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm")
"""Still-image formats that PIL decodes and srbench reads, matched case-insensitively (``.PNG`` is an image)."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_BITS_PER_SAMPLE = 258
_MAX_LISTED = 8


def is_image_name(name: str | os.PathLike) -> bool:
    """True when the file name has one of ``IMAGE_SUFFIXES`` (any case)."""
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def _listing(names: list[str]) -> str:
    more = f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
    return ", ".join(names[:_MAX_LISTED]) + more


def image_files(folder: str | os.PathLike) -> list[Path]:
    """The image files directly in ``folder`` (``IMAGE_SUFFIXES``, any case), sorted by name; may be empty.

    Hidden entries (``.name``: editor, OS and srbench temporary files) and subfolders are not read. Anything else that
    would be silently skipped is refused with one line naming it: a file that is not an image by its suffix, a broken
    or looping symbolic link, or two images with one name (``a.png`` and ``a.JPG``: which one is ``a``?).
    """
    folder = Path(folder)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise SrbenchError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None
    images, others, broken = [], [], []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            st = os.stat(entry.path)  # follows links: a dangling or looping link fails here
        except OSError:
            broken.append(entry.name)
            continue
        if stat.S_ISDIR(st.st_mode):
            continue
        (images if stat.S_ISREG(st.st_mode) and is_image_name(entry.name) else others).append(entry.name)
    if broken:
        raise SrbenchError(f"{folder}: broken or looping symbolic link(s): {_listing(broken)}; "
                           "fix or remove them")
    if others:
        raise SrbenchError(f"{folder}: not image files: {_listing(others)}; remove them or convert them to one of "
                           f"{' '.join(IMAGE_SUFFIXES)} (hidden files are ignored)")
    by_stem: dict[str, list[str]] = {}
    for name in images:
        by_stem.setdefault(Path(name).stem.lower(), []).append(name)
    clashes = [" and ".join(names) for names in by_stem.values() if len(names) > 1]
    if clashes:
        raise SrbenchError(f"{folder}: several images with one name: {_listing(clashes)}; keep one file per name")
    return [folder / name for name in images]


def _bit_depth(path: Path, im: Image.Image) -> int:
    """Bits per sample as stored in the file for PNG and TIFF (which PIL may reduce silently), else 8."""
    if im.format == "PNG":
        with open(path, "rb") as fh:
            head = fh.read(25)
        if head[:8] == _PNG_SIGNATURE and head[12:16] == b"IHDR":
            return head[24]
    elif im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(_TIFF_BITS_PER_SAMPLE, 8)
        return max(bits) if isinstance(bits, tuple) else int(bits)
    return 8


def image_header(path: str | os.PathLike) -> tuple[int, int, str, int]:
    """(width, height, PIL mode, bits per sample) read from the file's header without decoding the pixels; a
    one-line error names an unreadable file."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            return im.width, im.height, im.mode, _bit_depth(path, im)
    except FileNotFoundError:
        raise SrbenchError(f"{path}: file not found") from None
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise SrbenchError(f"{path}: unreadable or corrupt image ({exc})") from None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to uint8: HxW for ``L``/``1`` images, HxWx3 otherwise."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            depth = _bit_depth(path, im)
            if depth > 8:
                raise SrbenchError(f"{path}: {depth}-bit {im.format} image is not 8-bit; convert it to 8-bit RGB or "
                                   "gray (srbench does not rescale deeper images)")
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


def write_image(path: str | os.PathLike, array: np.ndarray, *, text: dict[str, str] | None = None,
                compress_level: int | None = None) -> None:
    """Write a uint8 HxW or HxWx3 array as an image (format from the suffix), atomically (temp file + rename).

    ``text`` is stored as PNG text chunks (PNG only), ahead of the pixel data so ``png_text`` reads it cheaply.
    ``compress_level`` (PNG only, 0-9; Pillow's default 6 when None): 1 writes about 3x faster for a somewhat
    larger file, which suits cache files (the pixels are lossless either way)."""
    path = Path(path)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise SrbenchError(f"{path}: can only write uint8 HxW or HxWx3 images, got {array.dtype} {array.shape}")
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    options = {}
    if text and fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
        options["pnginfo"] = info
    if compress_level is not None and fmt == "PNG":
        options["compress_level"] = int(compress_level)
    with atomic_path(path) as tmp:
        os.chmod(tmp, 0o644)
        with open(tmp, "wb") as fh:
            Image.fromarray(array).save(fh, format=fmt, **options)


def to_rgb(img: np.ndarray) -> np.ndarray:
    """An HxW gray image replicated to HxWx3 (what the networks see); HxWx3 images are returned unchanged."""
    if img.ndim == 3:
        return img
    return np.repeat(img[..., None], 3, axis=2)


def crop_to_scale(img: np.ndarray, scale: int) -> np.ndarray:
    """The top-left part of ``img`` whose height and width are multiples of ``scale`` (how every HR is cropped)."""
    h, w = img.shape[:2]
    return img[:h - h % scale, :w - w % scale]
