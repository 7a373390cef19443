"""Benchmark datasets: the EDSR folder layout, HR/LR pairs, generated-LR caching, dataset identities and fingerprints.

Layouts (any folder in one of them is a dataset)::

    <Set>/HR/<name>.png                         the benchmark (EDSR) layout
    <Set>/LR_bicubic/X<s>/<name>x<s>.png

    <Set>/<P>_HR/<name>.png                     the NTIRE efficient-SR challenges' layout: one pair of folders
    <Set>/<P>_LR/<name>x<s>.png                 ending _HR and _LR (e.g. DIV2K_LSDIR_valid_HR, DIV2K_LSDIR_valid_LR)

Images may be in any of ``srbench.data.images.IMAGE_SUFFIXES`` (``.png .jpg .bmp .tif`` ..., any case, for HR and shipped LR
alike); anything else in ``HR/`` other than hidden files is refused, as are two HR images with one name (``a.png`` and
``a.jpg``). HR is cropped at the top-left to a multiple of the scale. The LR is the shipped file (``lr_source='file'``,
when present) or ``imresize(hr, 1/s)`` on uint8 (the MATLAB-compatible bicubic, which reproduces the shipped files
exactly). An image smaller than the scale is refused by name.

Naming a dataset (``resolve_dataset``): a *bare name* (a string without a path separator, e.g. ``Set5``) is the
store's dataset of that name (under ``srbench.core.store.benchmark_root()``) when there is one, else a folder of that name in
the working directory; anything else (``./Set5``, ``../data/Set5``, an absolute path, any ``Path`` object) is that
folder and only that folder.

Identifying a dataset (``dataset_id``, for metric keys and per-image file names): a store dataset is its name
(``Set5``); any other folder is ``<basename>-<first 8 hex digits of sha256(its resolved path)>`` (``Set5-1f0c9a2e``),
so two folders with one basename never share a key, and a folder keeps its key while its files change (what the files
are is recorded separately by ``dataset_fingerprint``). Characters other than letters, digits and ``_ . + -`` in a
basename become ``_`` (a store dataset with such a name gets the hash suffix too).

Generated LR is cached at the layout's LR path (``<name>x<s>.png``; in the store's cache where that path holds a
shipped file or the folder is not in the store: :func:`generated_lr_file`), written atomically with three PNG text
chunks: the generator version (a hash of the code that computes the pixels: ``core/imresize.py`` and the reading,
cropping and generating functions, docstrings and comments excluded), the sha256 of the HR file it was made from, and
the sha256 of the LR pixels themselves. A cached file is reused only when all three still match, so a stale or altered
cache is never read, and a shipped file (no such chunks) is never overwritten. Gray images stay HxW (``gray=True``);
the caller replicates them with ``to_rgb`` for a network.

Other LR sources (``pil``, ``opencv``, ``torch``, ``torch_aa``, and any source without mod-crop: ``<source>/full``)
are made by :mod:`srbench.data.lr_generators` and cached in the store's cache under their own generator key, never
at the layout's path.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from collections.abc import Iterator

import numpy as np

from srbench.core import imresize as imresize_module
from srbench.core.cache_budget import BUDGET, BudgetedCache, CacheBudget
from srbench.core.errors import SrbenchError
from srbench.core.code_identity import source_fingerprint
from srbench.core.hashing import array_sha256, cached_sha256
from srbench.core.imresize import imresize
from srbench.core.store import benchmark_root, cache_root, store_root
from srbench.data import lr_generators
from srbench.data.decoded_files import (enabled as decoded_copies_enabled, has_decoded_copy, read_decoded,
                                       read_decoded_with_sha256)
from srbench.data.lr_generators import split_lr_input
from srbench.data.images import (IMAGE_SUFFIXES, crop_to_scale, image_files, is_image_name, png_text, read_image,
                                 to_rgb, write_image)

__all__ = ["Sample", "SampleSet", "list_datasets", "resolve_dataset", "dataset_id", "load_samples",
           "dataset_fingerprint", "generator_version", "hr_folder", "hr_paths", "load_hr", "lr_path", "to_rgb"]

_KEY_GENERATOR = "srbench-generator"
_KEY_HR = "srbench-hr-sha256"
_KEY_LR = "srbench-lr-sha256"
_ID_CHARS = re.compile(r"[^A-Za-z0-9_.+-]")


@dataclass
class Sample:
    """One benchmark image: HR cropped to a multiple of the scale, its LR, and where the LR came from."""

    name: str
    hr: np.ndarray
    lr: np.ndarray
    gray: bool
    lr_generated: bool


def _challenge_pair(folder: Path) -> tuple[Path, Path] | None:
    """The (``<P>_HR``, ``<P>_LR``) folders of the challenge layout, when ``folder`` holds exactly one such pair."""
    if not folder.is_dir() or (folder / "HR").is_dir():
        return None
    pairs = [(d, d.with_name(d.name[:-3] + "_LR")) for d in folder.glob("*_HR") if d.is_dir()]
    pairs = [(hr, lr) for hr, lr in pairs if lr.is_dir()]
    return pairs[0] if len(pairs) == 1 else None


def _is_dataset(folder: Path) -> bool:
    return (folder / "HR").is_dir() or _challenge_pair(folder) is not None


def hr_folder(folder: Path) -> Path:
    """The HR folder of a dataset in either layout."""
    pair = _challenge_pair(folder)
    return pair[0] if pair else folder / "HR"


def lr_folder(folder: Path, scale: int) -> Path:
    """The LR folder of a dataset at ``scale`` in either layout (the challenge's one folder serves every scale; a
    scale it has no ``<name>x<s>`` files for is generated, as in the benchmark layout)."""
    pair = _challenge_pair(folder)
    return pair[1] if pair else folder / "LR_bicubic" / f"X{scale}"


def list_datasets(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the dataset folders under ``root`` (default: the store's benchmark folder), sorted."""
    root = Path(root) if root is not None else benchmark_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _is_dataset(p))


def _is_bare_name(name_or_path: str | os.PathLike) -> bool:
    """True for a string naming no path: no separator, and not ``.`` or ``..``."""
    if not isinstance(name_or_path, str) or name_or_path in ("", ".", ".."):
        return False
    return not any(sep and sep in name_or_path for sep in ("/", os.sep, os.altsep))


def resolve_dataset(name_or_path: str | os.PathLike) -> Path:
    """The (resolved) dataset folder an argument means; see the module docstring for bare names versus paths."""
    root = benchmark_root()
    if _is_bare_name(name_or_path):
        for candidate in (root / name_or_path, Path(name_or_path)):  # the store's first, then the working directory
            if _is_dataset(candidate):
                return candidate.resolve()
        known = ", ".join(list_datasets(root)) or "none"
        raise SrbenchError(f"dataset {name_or_path!r} not found in {root}; known: {known}; "
                           "run `make data` or pass a folder in the <Set>/HR layout (or the challenge's <P>_HR + <P>_LR layout)")
    path = Path(name_or_path)
    if _is_dataset(path):
        return path.resolve()
    why = "has no HR folder (nor one <P>_HR + <P>_LR pair)" if path.is_dir() else "not found"
    raise SrbenchError(f"dataset folder {str(path)!r}: {why}; pass a folder in the <Set>/HR layout, or a bare name "
                       f"(no '/') for a dataset of {root}")


def dataset_id(dataset: str | os.PathLike) -> str:
    """A unique, stable, readable key for a dataset: its name for a store dataset, else
    ``<basename>-<8 hex of sha256(resolved path)>`` (rule and reasons in the module docstring)."""
    folder = resolve_dataset(dataset)
    root = benchmark_root()
    store_names = [n for n in list_datasets(root) if (root / n).resolve() == folder]
    if store_names and not _ID_CHARS.search(store_names[0]):
        return store_names[0]
    base = _ID_CHARS.sub("_", folder.name) or "dataset"
    return f"{base}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"


def hr_paths(folder: Path) -> list[Path]:
    """The HR images of a dataset folder, sorted by name (hidden files ignored; anything else that is not an image
    refused, see ``data.images.image_files``)."""
    hr = hr_folder(folder)
    paths = image_files(hr)
    if not paths:
        raise SrbenchError(f"{hr}: no images; put the HR images there as <name>.png "
                           f"(or any of {' '.join(IMAGE_SUFFIXES)})")
    return paths


@lru_cache(maxsize=64)
def _lr_listing(lr_dir: str, mtime_ns: int) -> dict[str, list[str]]:
    """The image files of an LR folder by lower-case stem (sorted names), listed once per folder state: the folder's
    mtime changes whenever a file is added, removed or renamed (looking up each image by listing the folder again
    made a dataset's LR lookup quadratic in its size)."""
    listing: dict[str, list[str]] = {}
    for e in os.scandir(lr_dir):
        if not e.name.startswith(".") and is_image_name(e.name):
            listing.setdefault(Path(e.name).stem.lower(), []).append(e.name)
    return {stem: sorted(names) for stem, names in listing.items()}


def lr_path(folder: Path, name: str, scale: int) -> Path:
    """Where the layout keeps the LR of image ``name`` at ``scale``: the existing ``<name>x<s>.<ext>`` (any image
    suffix, name and suffix matched case-insensitively like the HR files), else ``<name>x<s>.png``, where a generated LR
    is cached."""
    lr_dir = lr_folder(folder, scale)
    want = f"{name}x{scale}".lower()
    try:
        found = _lr_listing(str(lr_dir), os.stat(lr_dir).st_mtime_ns).get(want)
        if found is None:  # not in the listing: list afresh (a file added within the mtime's granularity)
            found = _lr_listing.__wrapped__(str(lr_dir), 0).get(want, [])
    except (FileNotFoundError, NotADirectoryError):
        found = []
    except OSError as exc:
        raise SrbenchError(f"{lr_dir}: cannot list the folder ({exc.strerror or exc})") from None
    if len(found) > 1:
        raise SrbenchError(f"{lr_dir}: several LR files for {name} at x{scale}: {', '.join(found)}; keep one")
    return lr_dir / (found[0] if found else f"{name}x{scale}.png")


def _check_args(scale: int, lr_source: str) -> None:
    split_lr_input(lr_source)  # one of LR_SOURCES, optionally <source>/full (see srbench.data.lr_generators)
    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise SrbenchError(f"scale={scale!r} must be an integer >= 1")


@lru_cache(maxsize=4096)
def _lr_provenance(path: str, size: int, mtime_ns: int) -> tuple[str, str, str] | None:
    """(generator, HR sha256, LR pixel sha256) of a generated LR file, or None for a shipped one; memoised per file
    version."""
    text = png_text(path)
    if _KEY_GENERATOR in text:
        return text[_KEY_GENERATOR], text.get(_KEY_HR, ""), text.get(_KEY_LR, "")
    return None


def _provenance(path: Path) -> tuple[str, str, str] | None:
    st = path.stat()
    return _lr_provenance(str(path), st.st_size, st.st_mtime_ns)


def _cached_lr(path: Path, hr_sha: str, version: str | None = None) -> np.ndarray | None:
    """The LR cached at ``path`` when this generator (``version``, default the MATLAB generator's) made it from this
    exact HR file and its pixels are still the ones written (checked by their sha256); None otherwise, including
    for an unreadable cache file."""
    provenance = _made_by(path, version or generator_version(), hr_sha)
    if provenance is None:
        return None
    try:
        lr, sha = read_decoded_with_sha256(path)  # the hash its disk copy's check computed
    except SrbenchError:
        return None
    return lr if sha == provenance[2] else None


def _made_by(path: Path, version: str, hr_sha: str) -> tuple[str, str, str] | None:
    """``path``'s provenance (generator, HR sha256, LR pixel sha256) when it is an LR file that generator ``version``
    made from the HR file ``hr_sha`` (its PNG text chunks say so; its pixels are checked by whoever reads them), else
    None."""
    provenance = _provenance(path) if path.is_file() else None
    return provenance if provenance is not None and provenance[:2] == (version, hr_sha) else None


def _is_shipped(path: Path) -> bool:
    return path.is_file() and _provenance(path) is None


def _generate_lr(hr: np.ndarray, scale: int, path: Path, hr_sha: str) -> np.ndarray:
    """Make the LR with MATLAB-compatible bicubic and cache it (best effort: a read-only folder just isn't cached)."""
    lr = imresize(hr, 1.0 / scale)
    if not _is_shipped(path):
        try:
            write_image(path, lr, text={_KEY_GENERATOR: generator_version(), _KEY_HR: hr_sha,
                                        _KEY_LR: array_sha256(lr)}, compress_level=1)  # a cache file: write fast
        except OSError:
            pass
    return lr


def _generator_sources() -> list[str]:
    """The code that decides a generated LR's pixels: the resize module, and the HR reading, cropping and generating
    functions."""
    return [Path(imresize_module.__file__).read_text(), inspect.getsource(read_image),
            inspect.getsource(crop_to_scale), inspect.getsource(_generate_lr)]


@lru_cache(maxsize=1)
def generator_version() -> str:
    """The version stamped on generated LR: a hash of the generating code's syntax trees, docstrings excluded."""
    return f"srbench-imresize/{source_fingerprint(*_generator_sources())[:16]}"


def load_hr(hr_file: Path, scale: int) -> np.ndarray:
    """One HR image as measured at ``scale``: cropped at the top-left to a multiple of the scale; an image smaller
    than the scale is refused by name. Read from its decoded copy when there is one (:func:`read_decoded`: Pillow's
    pixels, without decoding the file again)."""
    return hr_at_scale(read_decoded(hr_file), hr_file, scale)


def hr_at_scale(full: np.ndarray, hr_file: Path, scale: int) -> np.ndarray:
    """A decoded HR image as measured at ``scale`` (a view: the top-left crop to a multiple of the scale); an image
    smaller than the scale is refused by name."""
    if full.shape[0] < scale or full.shape[1] < scale:
        raise SrbenchError(f"{hr_file}: {full.shape[1]}x{full.shape[0]} px is smaller than the scale x{scale} "
                           "(its LR would have no pixels); remove the image or use a smaller scale")
    return crop_to_scale(full, scale)


def generated_lr_file(folder: Path, lr_file: Path, hr_sha: str, scale: int) -> Path:
    """Where a generated LR is cached: at the layout's LR path for a dataset inside the store that ships no LR file
    there (Urban100); in the store's cache, named by the HR content it derives from
    (``<cache>/lr/<HR sha256>_x<s>.png``), for a folder of the user's (evaluating a user's dataset writes nothing into
    it) and for an image whose shipped LR file holds that path (``lr_source: generate`` on Set14: made once, not on
    every run)."""
    try:
        folder.resolve().relative_to(store_root())
    except ValueError:
        return cache_root() / "lr" / f"{hr_sha}_x{scale}.png"
    return cache_root() / "lr" / f"{hr_sha}_x{scale}.png" if _is_shipped(lr_file) else lr_file


def _library_lr(hr_file: Path, hr_sha: str, scale: int, lr_source: str, modcrop: bool, path: Path, version: str,
                full: np.ndarray | None = None) -> np.ndarray:
    """The LR another library's generator (or MATLAB's without mod-crop) makes, from its own cache file ``path``
    (:func:`srbench.data.lr_generators.cache_file`, stamped ``version``) or made now and cached there (best
    effort)."""
    lr = _cached_lr(path, hr_sha, version)
    if lr is None:
        lr = lr_generators.make_lr(lr_source, read_decoded(hr_file) if full is None else full, scale, modcrop=modcrop)
        try:
            write_image(path, lr, text={_KEY_GENERATOR: version, _KEY_HR: hr_sha, _KEY_LR: array_sha256(lr)},
                        compress_level=1)
        except OSError:
            pass
    return lr


def _generated_lr_origin(folder: Path, lr_file: Path, hr_sha: str, scale: int,
                         lr_source: str) -> tuple[Path, str] | None:
    """Where a sample's generated LR is cached and the generator version it carries there; None when the sample
    reads the shipped LR file."""
    source, modcrop = split_lr_input(lr_source)
    if source == "file" and _is_shipped(lr_file):
        return None
    if _by_library(source, modcrop):
        return lr_generators.cache_file(source, modcrop, scale, hr_sha), lr_generators.generator_key(source, modcrop,
                                                                                                     scale)
    return generated_lr_file(folder, lr_file, hr_sha, scale), generator_version()


def _by_library(source: str, modcrop: bool) -> bool:
    """Whether an LR input is made by :mod:`srbench.data.lr_generators` (another library's generator, or MATLAB's
    without mod-crop), not by this module's MATLAB generator."""
    return source not in ("file", "generate") or not modcrop


def sample_ready(folder: Path, hr_file: Path, scale: int, lr_source: str = "file") -> bool:
    """True when reading this sample generates nothing and decodes no HR or shipped LR file: a generated LR is
    cached for this HR file by this generator, and the decoded copies (:mod:`srbench.data.decoded_files`) of the HR
    file and of a shipped LR file are on disk (when they are on). Judged from file names and PNG text chunks
    only: every read still checks what it reads."""
    hr_sha = cached_sha256(hr_file)
    lr_file = lr_path(folder, hr_file.stem, scale)
    origin = _generated_lr_origin(folder, lr_file, hr_sha, scale, lr_source)
    if origin is not None and _made_by(*origin, hr_sha) is None:
        return False
    decoded = [hr_file] if origin is not None else [hr_file, lr_file]
    return not decoded_copies_enabled() or all(has_decoded_copy(f) for f in decoded)


def load_sample(folder: Path, hr_file: Path, scale: int, lr_source: str = "file", *,
                hr: np.ndarray | None = None, full: np.ndarray | None = None) -> Sample:
    """Read one HR image and its LR (shipped, cached or generated) at ``scale``; ``lr_source`` may be any LR input
    (``pil``, ``torch/full``, ...: :func:`srbench.data.lr_generators.split_lr_input`). ``hr``: the HR already
    decoded by :func:`load_hr` (another LR source's sample of the same file), not decoded again; ``full``: the
    whole decoded HR file (what a generator that does not mod-crop first reads), likewise."""
    name = hr_file.stem
    hr = load_hr(hr_file, scale) if hr is None else hr
    lr_file = lr_path(folder, name, scale)
    hr_sha = cached_sha256(hr_file)
    source, modcrop = split_lr_input(lr_source)
    origin = _generated_lr_origin(folder, lr_file, hr_sha, scale, lr_source)
    if origin is None:
        lr, generated = read_decoded(lr_file), False
    elif _by_library(source, modcrop):
        lr, generated = _library_lr(hr_file, hr_sha, scale, source, modcrop, *origin, full=full), True
    else:
        cache_file = origin[0]
        lr, generated = _cached_lr(cache_file, hr_sha), True
        if lr is None:
            lr = _generate_lr(hr, scale, cache_file, hr_sha)
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
        self.id = dataset_id(self.folder)  # unique key for metrics and file names (see dataset_id)
        self.scale = int(scale)
        self.lr_source = lr_source
        self.hr_files = hr_paths(self.folder)

    def __len__(self) -> int:
        return len(self.hr_files)

    def __iter__(self) -> Iterator[Sample]:
        for hr_file in self.hr_files:
            yield DECODED.get(self.folder, hr_file, self.scale, self.lr_source)


def _stamp(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return (str(path),)
    return str(path), st.st_size, st.st_mtime_ns


#: the part of the cache budget decoded images may hold while their disk copy is on (16 MiB of the default 256):
#: enough for one image's every scale and LR input (``srbench explain``) and for the small sets, while reading an
#: image back from its disk copy costs 2-4 ms, not the 25-35 ms of decoding Urban100's PNGs again; the rest of the
#: budget stays for network outputs, whose refill is a forward pass
MEMORY_SHARE_WITH_DISK_COPY = 1 / 16


class DecodedSamples:
    """Decoded samples kept under the process's cache budget (:mod:`srbench.core.cache_budget`), so a benchmark
    decodes each image once, not once per cell.

    One entry per HR file (keyed by its path, size and mtime: a file that changes is decoded again) holds the decoded
    HR once, whatever the scale (each scale's HR is a view of it, cropped at the top-left), and the LR of every
    (scale, LR source, LR file version) read so far; its size is what it holds. The arrays are made read-only, so no
    consumer can alter what the next cell sees. When the budget is full the most recently used entry is dropped first
    (cells read each dataset in the same order, so that keeps the first images of every scan;
    :mod:`srbench.core.cache_budget`); ``SRBENCH_CACHE_MB=0`` keeps nothing in memory. An image not held is read
    back from its decoded copy on disk (:mod:`srbench.data.decoded_files`) rather than decoded again, so while that
    copy is on, decoded images hold only :data:`MEMORY_SHARE_WITH_DISK_COPY` of the budget.
    """

    def __init__(self, budget: CacheBudget | int | None = None) -> None:
        if not isinstance(budget, CacheBudget):
            budget = BUDGET if budget is None else CacheBudget(budget)
        share = MEMORY_SHARE_WITH_DISK_COPY if decoded_copies_enabled() else 1.0
        self._cache = BudgetedCache("decoded images", budget, refill_cost=1, scans=True, share=share)

    def get(self, folder: Path, hr_file: Path, scale: int, lr_source: str) -> Sample:
        hr_key = _stamp(hr_file)
        entry = self._cache.get(hr_key)
        if entry is None:
            full = read_decoded(hr_file)  # the disk copy of the decoded pixels, when there is one
            full.setflags(write=False)
            entry = (full, {})
        full, samples = entry
        lr_file = lr_path(folder, hr_file.stem, scale)
        hit = samples.get((scale, lr_source, _stamp(lr_file)))
        if hit is None:
            hit = load_sample(folder, hr_file, scale, lr_source, hr=hr_at_scale(full, hr_file, scale), full=full)
            hit.lr.setflags(write=False)
            # keyed by the LR file as it is now: loading may have just generated (cached) it
            samples[(scale, lr_source, _stamp(lr_file))] = hit
            self._cache.put(hr_key, entry, full.nbytes + sum(s.lr.nbytes for s in samples.values()))
        return hit


DECODED = DecodedSamples()


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
        source, modcrop = split_lr_input(lr_source)
        if lr_source == "file" and _is_shipped(lr_file):
            rows.append(f"{lr_file.relative_to(folder).as_posix()}\t{cached_sha256(lr_file)}")
        elif source in ("file", "generate") and modcrop:
            rows.append(f"{lr_file.relative_to(folder).as_posix()}\t{generator_version()}")
        else:
            rows.append(f"{lr_file.relative_to(folder).as_posix()}\t"
                        f"{lr_generators.generator_key(source, modcrop, int(scale))}")
    return hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()
