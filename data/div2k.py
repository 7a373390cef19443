"""DIV2K, the training set of the GPU recipes: what a user's copy must look like, checked before hours of training.

Source: the NTIRE 2017 challenge's release by ETH Zurich's CVL (Agustsson & Timofte, "NTIRE 2017 Challenge on Single
Image Super-Resolution: Dataset and Study", CVPRW 2017), https://data.vision.ee.ethz.ch/cvl/DIV2K/. srbench does not
download it (3.5 GB for the training HR images alone); the archives' published sha256 are in
``data/manifests/div2k.tsv`` (docs/div2k.md says where they come from). Layout after unpacking into one folder::

    <root>/DIV2K_train_HR/0001.png .. 0800.png           800 training images
    <root>/DIV2K_valid_HR/0801.png .. 0900.png           100 validation images
    <root>/DIV2K_train_LR_bicubic/X<s>/0001x<s>.png ..   optional: the released bicubic LR (MATLAB imresize)
    <root>/DIV2K_valid_LR_bicubic/X<s>/0801x<s>.png ..

:func:`check_div2k` reads only the files' headers (seconds for the 900 images): the expected names and counts, 8-bit
RGB PNGs, HR images of DIV2K's 2K resolution (longer side :data:`LONG_SIDE` px), and LR images no larger than their
HR divided by the scale. It does not hash the pixels: the archives' sha256 do that before unpacking.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.data.images import image_header

#: (split folder, first image number, image count)
SPLITS = {"train": ("DIV2K_train_HR", 1, 800), "valid": ("DIV2K_valid_HR", 801, 100)}
#: the published sizes and sha256 of the release's archives (only those a public source lists; see docs/div2k.md)
MANIFEST = Path(__file__).resolve().parent / "manifests" / "div2k.tsv"
#: the longer side of every DIV2K HR image ("2K resolution"); a folder of resized copies fails the check
LONG_SIDE = 2040
_LISTED = 3


@dataclass
class Div2kCheck:
    """What :func:`check_div2k` found: image counts per split and the LR scales present per split."""

    root: Path
    images: dict[str, int] = field(default_factory=dict)
    lr_scales: dict[str, list[int]] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{split} {n} HR" + (f" + LR x{','.join(map(str, self.lr_scales[split]))}"
                                      if self.lr_scales.get(split) else "") for split, n in self.images.items()]
        return f"DIV2K at {self.root}: " + "; ".join(parts) + ": names, counts, 8-bit RGB and sizes as released"


def _problem(problems: list[str], where: Path, what: str) -> None:
    problems.append(f"{where.name}: {what}")


def _check_hr(folder: Path, first: int, count: int, problems: list[str]) -> dict[str, tuple[int, int]]:
    sizes: dict[str, tuple[int, int]] = {}
    expected = [f"{i:04d}" for i in range(first, first + count)]
    present = {p.stem: p for p in folder.glob("*.png")}
    missing = [name for name in expected if name not in present]
    extra = sorted(set(present) - set(expected))
    if missing:
        problems.append(f"{folder.name}: {len(missing)} of {count} images missing ({', '.join(missing[:_LISTED])}"
                        f"{', ...' if len(missing) > _LISTED else ''})")
    if extra:
        problems.append(f"{folder.name}: {len(extra)} unexpected image(s) ({', '.join(extra[:_LISTED])})")
    for name in expected:
        if name in present:
            width, height, mode, depth = image_header(present[name])
            if mode != "RGB" or depth != 8:
                _problem(problems, present[name], f"{mode} {depth}-bit, not 8-bit RGB")
            elif max(width, height) != LONG_SIDE:
                _problem(problems, present[name], f"{width}x{height}, longer side not {LONG_SIDE} (resized?)")
            sizes[name] = (width, height)
    return sizes


def _check_lr(root: Path, split: str, sizes: dict[str, tuple[int, int]], problems: list[str]) -> list[int]:
    scales = []
    lr_root = root / f"DIV2K_{split}_LR_bicubic"
    for scale in (2, 3, 4):
        folder = lr_root / f"X{scale}"
        if not folder.is_dir():
            continue
        scales.append(scale)
        for name, (width, height) in sizes.items():
            path = folder / f"{name}x{scale}.png"
            if not path.is_file():
                _problem(problems, path, f"missing (every HR image needs its x{scale} LR in {folder})")
                continue
            w, h, mode, depth = image_header(path)
            if mode != "RGB" or depth != 8:
                _problem(problems, path, f"{mode} {depth}-bit, not 8-bit RGB")
            elif w * scale > width or h * scale > height or w < width // scale or h < height // scale:
                _problem(problems, path, f"{w}x{h} is not {width}x{height} divided by {scale}")
    return scales


def check_div2k(root: str | Path, splits: tuple[str, ...] = ("train", "valid")) -> Div2kCheck:
    """Check a DIV2K folder (module docstring); a one-line :class:`SrbenchError` lists the first problems."""
    root = Path(root)
    if not root.is_dir():
        raise SrbenchError(f"DIV2K folder {root} does not exist; unpack DIV2K_train_HR.zip and DIV2K_valid_HR.zip "
                           "into it (see docs/div2k.md)")
    result, problems = Div2kCheck(root), []
    for split in splits:
        name, first, count = SPLITS[split]
        folder = root / name
        if not folder.is_dir():
            problems.append(f"{name}/ missing (unpack {name}.zip into {root})")
            continue
        sizes = _check_hr(folder, first, count, problems)
        result.images[split] = len(sizes)
        result.lr_scales[split] = _check_lr(root, split, sizes, problems)
    if problems:
        more = f" (+{len(problems) - _LISTED} more)" if len(problems) > _LISTED else ""
        raise SrbenchError(f"DIV2K folder {root}: {'; '.join(problems[:_LISTED])}{more}")
    return result


def archive_manifest() -> dict[str, dict[str, str]]:
    """The rows of :data:`MANIFEST` by archive name (``bytes``, ``sha256``, ``source_url``, ``checksum_source``)."""
    with open(MANIFEST, newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


def check_archives(folder: str | Path) -> list[str]:
    """sha256-check the DIV2K archives of :data:`MANIFEST` that ``folder`` holds (others are not looked for); the
    names of those that match. A size or sha256 that differs is a one-line :class:`SrbenchError`."""
    from srbench.core.hashing import sha256_file

    verified = []
    for name, row in archive_manifest().items():
        path = Path(folder) / name
        if not path.is_file():
            continue
        if path.stat().st_size != int(row["bytes"]) or sha256_file(path) != row["sha256"]:
            raise SrbenchError(f"{path}: not the published archive (size or sha256 differs from {row['bytes']} "
                               f"bytes, {row['sha256'][:12]}...); download it again from {row['source_url']}")
        verified.append(name)
    return verified
