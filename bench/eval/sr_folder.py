"""Scoring SR images made elsewhere: a folder of outputs matched by name to a dataset's HR images.

Another codebase's results, or the images a paper released, are measured exactly like a benchmarked model's outputs:
each SR file is read as 8 bits and scored against its HR image (cropped to a multiple of the scale) by
:class:`srbench.eval.scoring.ImageScorer` under the protocol (colour, border crop, gray rule; nothing is re-quantised).

Matching (case-insensitive, any image suffix of :data:`srbench.data.images.IMAGE_SUFFIXES`): the SR file of HR image
``<name>`` at scale s is the one whose stem is ``<name>``, ``<name>x<s>``, ``<name>_x<s>``, ``<name>_SR``,
``<name>x<s>_SR``, ``<name>_x<s>_SR``, ``<name>_SRF_<s>_SR`` or ``<name>_SRF_<s>`` (the last two are the naming of
the released SelfExSR folders: ``img_001_SRF_4_SR.png``, whose ``_HR``/``_LR``/``_bicubic`` siblings match nothing).
Every HR image needs exactly one SR file of its own size; the missing, the ambiguous and the wrongly sized are listed
in one error. Other files are not read (the caller may mention them).

The folder's identity (:func:`folder_fingerprint`) is the sha256 over the matched files' names and contents: the
``weights_sha256`` of a scored run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.core.hashing import cached_sha256
from srbench.data.datasets import hr_paths, load_hr, resolve_dataset
from srbench.data.images import is_image_name, read_image
from srbench.eval.evaluate import DatasetResult, ImageResult
from srbench.eval.protocol import Protocol
from srbench.eval.scoring import ImageScorer

_MAX_LISTED = 8


def sr_stems(name: str, scale: int) -> list[str]:
    """The (lower-case) file stems accepted as the SR image of HR ``name`` at ``scale``."""
    n, s = name.lower(), scale
    return [n, f"{n}x{s}", f"{n}_x{s}", f"{n}_sr", f"{n}x{s}_sr", f"{n}_x{s}_sr", f"{n}_srf_{s}_sr", f"{n}_srf_{s}"]


def _listing(items: list[str]) -> str:
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more


@dataclass
class Matched:
    """SR file per HR image (in the dataset's order), and the folder's image files that matched no HR image."""

    files: dict[str, Path]
    unmatched: list[str] = field(default_factory=list)


def match_sr_files(sr_dir: str | os.PathLike, hr_names: list[str], scale: int) -> Matched:
    """Match the images of ``sr_dir`` to ``hr_names`` (see the module docstring); one error lists every HR image
    without an SR file and every HR image with several."""
    folder = Path(sr_dir)
    if not folder.is_dir():
        raise SrbenchError(f"--sr-dir {folder}: not a folder")
    try:
        entries = sorted(e.name for e in os.scandir(folder)
                         if not e.name.startswith(".") and is_image_name(e.name) and e.is_file())
    except OSError as exc:
        raise SrbenchError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None
    by_stem: dict[str, list[str]] = {}
    for entry in entries:
        by_stem.setdefault(Path(entry).stem.lower(), []).append(entry)
    files, missing, ambiguous, used = {}, [], [], set()
    for name in hr_names:
        hits = [f for stem in sr_stems(name, scale) for f in by_stem.get(stem, [])]
        if not hits:
            missing.append(name)
        elif len(hits) > 1:
            ambiguous.append(f"{name} ({' / '.join(hits)})")
        else:
            files[name] = folder / hits[0]
            used.add(hits[0])
    problems = []
    if missing:
        example = hr_names[0] if hr_names else "name"
        problems.append(f"no SR image for {len(missing)} of {len(hr_names)} HR images: {_listing(missing)} "
                        f"(expected e.g. {example}.png, {example}x{scale}.png, {example}_SR.png or "
                        f"{example}_SRF_{scale}_SR.png)")
    if ambiguous:
        problems.append(f"several SR files for {_listing(ambiguous)}; keep one each")
    if problems:
        raise SrbenchError(f"{folder}: " + "; ".join(problems))
    return Matched(files=files, unmatched=[e for e in entries if e not in used])


def folder_fingerprint(files: dict[str, Path]) -> str:
    """sha256 over the matched SR files' names and sha256s: the scored folder's content identity."""
    rows = sorted(f"{path.name}\t{cached_sha256(path)}" for path in files.values())
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


@dataclass
class ScoredFolder:
    """The scores of a folder of SR images on one dataset at one scale, and what identifies them."""

    result: DatasetResult
    fingerprint: str
    folder: Path
    unmatched: list[str]


def score_folder(sr_dir: str | os.PathLike, dataset: str, scale: int, protocol: Protocol) -> ScoredFolder:
    """Score every HR image of ``dataset`` against its SR file in ``sr_dir`` under ``protocol``.

    A wrongly sized SR file (any size other than the HR image cropped to a multiple of ``scale``) is an error listing
    every such file with both sizes.
    """
    hr_files = hr_paths(resolve_dataset(dataset))
    matched = match_sr_files(sr_dir, [p.stem for p in hr_files], scale)
    pairs, wrong = [], []
    for hr_file in hr_files:
        hr = load_hr(hr_file, scale)
        sr_file = matched.files[hr_file.stem]
        sr = read_image(sr_file)
        if sr.shape[:2] != hr.shape[:2]:
            wrong.append(f"{sr_file.name}: {sr.shape[1]}x{sr.shape[0]} (expected {hr.shape[1]}x{hr.shape[0]})")
            continue
        pairs.append((hr_file.stem, sr, hr))
    if wrong:
        raise SrbenchError(f"{sr_dir}: {len(wrong)} SR image(s) differ in size from their HR image cropped to a "
                           f"multiple of x{scale}: {_listing(wrong)}")
    result = DatasetResult(dataset=str(dataset), scale=scale, protocol=protocol)
    for name, sr, hr in pairs:
        scored = ImageScorer(sr, hr, scale=scale, gray=hr.ndim == 2, name=name, quantized=True).score(protocol)
        result.images.append(ImageResult(name, scored.psnr, scored.ssim, 0.0, hr.ndim == 2, mse=scored.mse))
    return ScoredFolder(result=result, fingerprint=folder_fingerprint(matched.files), folder=Path(sr_dir).resolve(),
                        unmatched=matched.unmatched)
