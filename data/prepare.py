"""Training data preparation: DIV2K, or any folder of HR images, into the authors' h5 training file.

Layout of the h5 file (the CARN/ECDN authors' ``div2h5.py`` format, readable by their code)::

    /HR/0 .. /HR/<N-1>        uint8 HxWx3, the HR images
    /X2/0 .. /X2/<N-1>        uint8 hxwx3, the x2 LR images (likewise X3, X4 for the prepared scales)

Root attributes (srbench's additions; a file without them, e.g. one made by the authors' script, is still usable):
``names`` (JSON list of the image names, in dataset order), ``scales`` (JSON list), ``lr_source`` (JSON mapping
scale -> ``"given"`` or ``"imresize"``), ``source`` (the input folder), ``format`` and ``fingerprint`` (sha256 over
the format version, the scales, and every input file's name and content hash: an existing file with the same
fingerprint is kept as is, anything else is rebuilt).

Inputs
------
* DIV2K's standard layout: ``<dir>/DIV2K_train_HR/NNNN.png`` and, when present,
  ``<dir>/DIV2K_train_LR_bicubic/X<s>/NNNNx<s>.png``, which is used as given for every image of that scale (all or
  nothing per scale); a missing scale is generated like a plain folder.
* Any folder of HR images (``data.images.IMAGE_SUFFIXES``, any case, not recursive), sorted by name; other files in
  it are refused (``data.images.image_files``). Gray images are replicated to RGB.

Generated LR (no LR given): for each scale ``s`` the HR image is cropped at its bottom/right edges to the largest
multiple of ``s`` (top-left corner kept), and the LR is MATLAB-compatible bicubic ``imresize(crop, 1/s)``
(:func:`srbench.core.imresize.imresize`), the same operation that made DIV2K's and the benchmark sets' LR images. The HR image
is stored uncropped, once for all scales: a training patch at LR position ``(y, x)`` takes the HR patch at
``(s·y, s·x)``, which always lies inside the crop, so LR and HR stay aligned for every scale without throwing away up
to 11 rows/columns (what cropping to a multiple of 12 would do).

The file is written to a temporary file beside ``<out>`` and renamed when complete (``srbench.core.atomic``): an
unreadable input image aborts with its name before anything final is written, and leaves no temporary file.

An image folder given to ``srbench train`` is prepared once into the store's cache, at
``<store>/cache/h5/<fingerprint>.h5`` (``cached_h5_for_folder``): named by the content it derives from, so a folder
that shares a name with a store file (a user's ``T91``) never replaces that file, and two folders never share an h5
unless their files are the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srbench.core.atomic import atomic_path
from srbench.core.errors import SrbenchError
from srbench.data.images import IMAGE_SUFFIXES, crop_to_scale, image_files

FORMAT = "srbench-sr-h5/1"
ALL_SCALES = (2, 3, 4)


@dataclass(frozen=True)
class Source:
    """What to prepare: HR files in order, and per scale either the given LR files or None (generate)."""

    root: Path
    names: tuple[str, ...]
    hr: tuple[Path, ...]
    lr: dict[int, tuple[Path, ...] | None]
    kind: str  # "div2k" or "folder"


def find_source(root: str | os.PathLike, scales: tuple[int, ...] = ALL_SCALES) -> Source:
    """Describe ``root``: DIV2K's standard layout when it has ``DIV2K_train_HR``, else a plain folder of HR images."""
    root = Path(root)
    if not root.is_dir():
        raise SrbenchError(f"{root}: not a folder; give a DIV2K folder or a folder of HR images")
    bad = [s for s in scales if s not in ALL_SCALES]
    if bad or not scales:
        raise SrbenchError(f"scales {list(scales)}: each must be one of {list(ALL_SCALES)}")
    div2k_hr = root / "DIV2K_train_HR"
    kind = "div2k" if div2k_hr.is_dir() else "folder"
    hr = image_files(div2k_hr if kind == "div2k" else root)
    if not hr:
        raise SrbenchError(f"{div2k_hr if kind == 'div2k' else root}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    names = tuple(p.stem for p in hr)
    lr: dict[int, tuple[Path, ...] | None] = {}
    for s in scales:
        lr[s] = None
        if kind == "div2k":
            folder = root / "DIV2K_train_LR_bicubic" / f"X{s}"
            if folder.is_dir():
                files = tuple(folder / f"{name}x{s}.png" for name in names)
                missing = [f for f in files if not f.is_file()]
                if missing:
                    raise SrbenchError(f"{missing[0]}: missing ({len(missing)} LR file(s) of X{s} missing); "
                                       f"complete the folder or remove {folder} to generate X{s} with imresize")
                lr[s] = files
    return Source(root=root, names=names, hr=tuple(hr), lr=lr, kind=kind)


def fingerprint(source: Source, scales: tuple[int, ...]) -> str:
    """sha256 over the format, the scales and every input file's name and content hash."""
    from srbench.core.hashing import cached_sha256

    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT, "scales": list(scales)}).encode())
    files = list(source.hr) + [f for s in scales for f in (source.lr[s] or ())]
    for f in files:
        h.update(f"{f.relative_to(source.root)}\0{cached_sha256(f)}\n".encode())
    return h.hexdigest()


def read_fingerprint(path: Path) -> str | None:
    """The fingerprint attribute of an existing h5 file, or None when it has none or cannot be read."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            value = f.attrs.get("fingerprint")
    except (OSError, KeyError):
        return None
    return value.decode() if isinstance(value, bytes) else value


def make_lr(hr: np.ndarray, s: int) -> np.ndarray:
    """The x``s`` LR image of an HR image: MATLAB bicubic of the HR cropped to a multiple of ``s``."""
    from srbench.core.imresize import imresize

    return imresize(crop_to_scale(hr, s), 1.0 / s)


def _read_rgb(path: Path) -> np.ndarray:
    from srbench.data.images import read_image, to_rgb

    img = to_rgb(read_image(path))
    return np.ascontiguousarray(img, dtype=np.uint8)


def prepare(root: str | os.PathLike, out: str | os.PathLike, scales: tuple[int, ...] = ALL_SCALES, *,
            progress: bool = True, force: bool = False) -> tuple[Path, bool]:
    """Build the h5 training file ``out`` from ``root``; returns (path, built) where built is False when kept.

    An existing ``out`` whose fingerprint matches the inputs is kept (unless ``force``).
    """
    import h5py
    from tqdm.auto import tqdm

    scales = tuple(sorted(set(int(s) for s in scales)))
    out = Path(out)
    source = find_source(root, scales)
    fp = fingerprint(source, scales)
    if out.is_file() and not force and read_fingerprint(out) == fp:
        return out, False
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        groups = {"HR": f.create_group("HR")}
        for s in scales:
            groups[s] = f.create_group(f"X{s}")
        bar = tqdm(range(len(source.names)), desc=f"prepare {out.name}", unit="img", disable=not progress)
        for i in bar:
            hr = _read_rgb(source.hr[i])
            groups["HR"].create_dataset(str(i), data=hr)
            for s in scales:
                given = source.lr[s]
                if given is not None:
                    lr = _read_rgb(given[i])
                    if lr.shape[0] * s > hr.shape[0] or lr.shape[1] * s > hr.shape[1]:
                        raise SrbenchError(f"{given[i]}: LR size {lr.shape[1]}x{lr.shape[0]} times {s} exceeds "
                                           f"its HR {source.hr[i].name} ({hr.shape[1]}x{hr.shape[0]})")
                else:
                    if min(hr.shape[:2]) < s:
                        raise SrbenchError(f"{source.hr[i]}: too small ({hr.shape[1]}x{hr.shape[0]}) for x{s}")
                    lr = make_lr(hr, s)
                groups[s].create_dataset(str(i), data=lr)
        f.attrs["format"] = FORMAT
        f.attrs["names"] = json.dumps(list(source.names))
        f.attrs["scales"] = json.dumps(list(scales))
        f.attrs["lr_source"] = json.dumps({str(s): "given" if source.lr[s] is not None else "imresize"
                                           for s in scales})
        f.attrs["source"] = str(source.root.resolve())
        f.attrs["fingerprint"] = fp  # written last
    return out, True


def cached_h5_for_folder(folder: str | os.PathLike, *, progress: bool = True) -> Path:
    """The h5 file of an image folder, prepared (all scales) on first use into ``<store>/cache/h5/<fingerprint>.h5``,
    named by the folder's content (see the module docstring); an up-to-date file is returned at once."""
    from srbench.core.locks import file_lock
    from srbench.core.store import store_root

    folder = Path(folder).resolve()
    fp = fingerprint(find_source(folder, ALL_SCALES), ALL_SCALES)
    out = store_root() / "cache" / "h5" / f"{fp}.h5"
    out.parent.mkdir(parents=True, exist_ok=True)
    # several processes (the ranks of a DDP run, parallel jobs) may ask at once: one builds, the others wait on the
    # lock (no collective timeout) and then find the file up to date
    with file_lock(out.with_suffix(".lock")):  # <fingerprint>.lock beside it (kept: removing it races)
        path, _ = prepare(folder, out, ALL_SCALES, progress=progress)
    return path
