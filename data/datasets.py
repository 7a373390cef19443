"""Benchmark datasets: the EDSR folder layout, HR/LR pairs, generated-LR caching and dataset fingerprints.

Layout (any folder in it is a dataset)::

    <Set>/HR/<name>.png
    <Set>/LR_bicubic/X<s>/<name>x<s>.png

A dataset argument is a name under ``srbench.core.store.benchmark_root()`` or a path to such a folder. HR is cropped at the
top-left to a multiple of the scale. The LR is the shipped file (``lr_source='file'``, when present) or
``imresize(hr, 1/s)`` on uint8 (the MATLAB-compatible bicubic, which reproduces the shipped files exactly).

Generated LR is cached at the layout's LR path, written atomically with two PNG text chunks: the generator version and
the sha256 of the HR file it was made from. A cached file is reused only when both still match, so a stale cache is
never read, and a shipped file (no such chunks) is never overwritten. Gray images stay HxW (``gray=True``); the caller
replicates them with ``to_rgb`` for a network.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np

from srbench.core.constants import LR_SOURCES
from srbench.core.errors import SrbenchError
from srbench.core.hashing import cached_sha256
from srbench.data.images import crop_to_scale, png_text, read_image, to_rgb, write_image
from srbench.core.imresize import imresize
from srbench.core.store import benchmark_root

__all__ = ["Sample", "SampleSet", "list_datasets", "resolve_dataset", "load_samples", "dataset_fingerprint",
           "hr_paths", "lr_path", "to_rgb"]

GENERATOR = "srbench data.imresize bicubic v1"
_KEY_GENERATOR = "srbench-generator"
_KEY_HR = "srbench-hr-sha256"


@dataclass
class Sample:
    """One benchmark image: HR cropped to a multiple of the scale, its LR, and where the LR came from."""

    name: str
    hr: np.ndarray
    lr: np.ndarray
    gray: bool
    lr_generated: bool


def _is_dataset(folder: Path) -> bool:
    return (folder / "HR").is_dir()


def list_datasets(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the dataset folders under ``root`` (default: the store's benchmark folder), sorted."""
    root = Path(root) if root is not None else benchmark_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _is_dataset(p))


def resolve_dataset(name_or_path: str | os.PathLike) -> Path:
    """The dataset folder for a name under the benchmark root, or for a path to a folder in the layout."""
    root = benchmark_root()
    for candidate in (root / str(name_or_path), Path(name_or_path)):  # a store name wins over a same-named cwd folder
        if _is_dataset(candidate):
            return candidate.resolve()
    known = ", ".join(list_datasets(root)) or "none"
    raise SrbenchError(f"dataset {str(name_or_path)!r} not found in {root}; known: {known}; "
                       f"run `make data` or pass a folder in the <Set>/HR layout")


def hr_paths(folder: Path) -> list[Path]:
    """The HR images of a dataset folder, sorted by name (hidden and temporary files ignored)."""
    paths = sorted(p for p in (folder / "HR").glob("*.png") if not p.name.startswith("."))
    if not paths:
        raise SrbenchError(f"{folder / 'HR'}: no .png images; put the HR images there as <name>.png")
    return paths


def lr_path(folder: Path, name: str, scale: int) -> Path:
    """Where the layout keeps the LR of image ``name`` at ``scale``."""
    return folder / "LR_bicubic" / f"X{scale}" / f"{name}x{scale}.png"


def _check_args(scale: int, lr_source: str) -> None:
    if lr_source not in LR_SOURCES:
        raise SrbenchError(f"lr_source={lr_source!r} is not one of {', '.join(LR_SOURCES)}")
    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise SrbenchError(f"scale={scale!r} must be an integer >= 1")


@lru_cache(maxsize=4096)
def _lr_provenance(path: str, size: int, mtime_ns: int) -> tuple[str, str] | None:
    """(generator, HR sha256) of a generated LR file, or None for a shipped one; memoised per file version."""
    text = png_text(path)
    if _KEY_GENERATOR in text:
        return text[_KEY_GENERATOR], text.get(_KEY_HR, "")
    return None


def _provenance(path: Path) -> tuple[str, str] | None:
    st = path.stat()
    return _lr_provenance(str(path), st.st_size, st.st_mtime_ns)


def _usable_cache(path: Path, hr_sha: str) -> bool:
    """True when ``path`` is a generated LR made by this generator from this exact HR file."""
    return path.is_file() and _provenance(path) == (GENERATOR, hr_sha)


def _is_shipped(path: Path) -> bool:
    return path.is_file() and _provenance(path) is None


def _generate_lr(hr: np.ndarray, scale: int, path: Path, hr_sha: str) -> np.ndarray:
    """Make the LR with MATLAB-compatible bicubic and cache it (best effort: a read-only folder just isn't cached)."""
    lr = imresize(hr, 1.0 / scale)
    if not _is_shipped(path):
        try:
            write_image(path, lr, text={_KEY_GENERATOR: GENERATOR, _KEY_HR: hr_sha})
        except OSError:
            pass
    return lr


def load_sample(folder: Path, hr_file: Path, scale: int, lr_source: str = "file") -> Sample:
    """Read one HR image and its LR (shipped, cached or generated) at ``scale``."""
    name = hr_file.stem
    hr = crop_to_scale(read_image(hr_file), scale)
    lr_file = lr_path(folder, name, scale)
    hr_sha = cached_sha256(hr_file)
    if lr_source == "file" and _is_shipped(lr_file):
        lr, generated = read_image(lr_file), False
    elif _usable_cache(lr_file, hr_sha):
        lr, generated = read_image(lr_file), True
    else:
        lr, generated = _generate_lr(hr, scale, lr_file, hr_sha), True
    expected = (hr.shape[0] // scale, hr.shape[1] // scale) + hr.shape[2:]
    if lr.shape != expected:
        raise SrbenchError(f"{lr_file}: LR shape {lr.shape} does not match HR {hr_file.name} cropped to "
                           f"{hr.shape} at x{scale} (expected {expected}); delete the LR file to regenerate it")
    return Sample(name=name, hr=hr, lr=lr, gray=hr.ndim == 2, lr_generated=generated)


class SampleSet:
    """The samples of one dataset at one scale, read lazily; ``len()`` works before iterating (progress bars)."""

    def __init__(self, dataset: str | os.PathLike, scale: int, *, lr_source: str = "file") -> None:
        _check_args(scale, lr_source)
        self.folder = resolve_dataset(dataset)
        self.name = self.folder.name
        self.scale = int(scale)
        self.lr_source = lr_source
        self.hr_files = hr_paths(self.folder)

    def __len__(self) -> int:
        return len(self.hr_files)

    def __iter__(self) -> Iterator[Sample]:
        for hr_file in self.hr_files:
            yield load_sample(self.folder, hr_file, self.scale, self.lr_source)


def load_samples(dataset: str | os.PathLike, scale: int, *, lr_source: str = "file") -> SampleSet:
    """Every (HR, LR) pair of a dataset at ``scale``; see the module docstring for cropping, LR source and gray."""
    return SampleSet(dataset, scale, lr_source=lr_source)


def dataset_fingerprint(dataset: str | os.PathLike, scale: int, lr_source: str = "file") -> str:
    """sha256 identifying exactly the inputs a run uses: sorted (relative path, sha256) of the HR and LR files.

    A shipped LR file enters with its own hash; a generated one (cached or not yet made) enters as the generator
    version, since its content is a function of the HR hash already listed. So the fingerprint does not change when the
    cache is filled, and it changes when any HR or shipped LR file, the scale or the LR source changes.
    """
    _check_args(scale, lr_source)
    folder = resolve_dataset(dataset)
    rows = [f"scale\t{int(scale)}", f"lr_source\t{lr_source}"]
    for hr_file in hr_paths(folder):
        rows.append(f"{hr_file.relative_to(folder).as_posix()}\t{cached_sha256(hr_file)}")
        lr_file = lr_path(folder, hr_file.stem, scale)
        if lr_source == "file" and _is_shipped(lr_file):
            rows.append(f"{lr_file.relative_to(folder).as_posix()}\t{cached_sha256(lr_file)}")
        else:
            rows.append(f"{lr_file.relative_to(folder).as_posix()}\t{GENERATOR}")
    return hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()
