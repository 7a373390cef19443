"""The visual-comparison crops a cell logs, so that the report draws them from MLflow alone.

For each declared crop image of a cell's scale: the SR output, the HR image once (as measured: cropped to a multiple
of the scale, gray replicated to RGB) and, per declared box inside the image, its PSNR and SSIM on the Y channel (no
border crop; SSIM where the box holds the 11x11 window). Names: :mod:`srbench.track.schema` (``crop_*``).
:func:`crop_scores` is the one definition of a box's scores: the report uses it too, for boxes given at report time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srbench.data.datasets import dataset_id, hr_paths, load_hr, resolve_dataset
from srbench.data.images import to_rgb, write_image
from srbench.eval.metrics import SSIM_WIN, psnr, rgb_to_y, ssim
from srbench.track import schema
from srbench.track.run_writer import RunWriter


def box_inside(shape: tuple, box) -> bool:
    """Whether the box (top, left, h, w) lies inside an image of ``shape`` (H, W, ...)."""
    top, left, h, w = box
    return top >= 0 and left >= 0 and h > 0 and w > 0 and top + h <= shape[0] and left + w <= shape[1]


def crop_scores(sr: np.ndarray, hr: np.ndarray, box) -> tuple[float, float | None]:
    """(PSNR dB, SSIM or None) of the box (top, left, h, w) of two uint8 HxWx3 images on the Y channel, without
    border crop; SSIM is None for a box smaller than its 11x11 window."""
    top, left, h, w = box
    sr_y = rgb_to_y(sr[top:top + h, left:left + w])
    hr_y = rgb_to_y(hr[top:top + h, left:left + w])
    return psnr(sr_y, hr_y), (ssim(sr_y, hr_y) if min(h, w) >= SSIM_WIN else None)


def hr_image(dataset: str, image: str, scale: int) -> np.ndarray:
    """The HR image ``image`` of ``dataset`` as measured at ``scale`` (uint8 HxWx3)."""
    for path in hr_paths(resolve_dataset(dataset)):
        if path.stem == image:
            return to_rgb(load_hr(path, scale))
    raise KeyError(f"image {image!r} is not in {dataset}")


#: zlib level of the logged PNGs: lossless at any level; 1 writes a B100 image in 14 ms against 48 ms at Pillow's
#: default 6, for a file 3% larger, and every x4 cell of the default benchmark logs six of them
PNG_LEVEL = 1


def _log_image(client, run_id: str, workdir: Path, artifact: str, image: np.ndarray) -> None:
    path = workdir / artifact
    write_image(path, image, compress_level=PNG_LEVEL)
    RunWriter(client, run_id).artifact(path, Path(artifact).parent.as_posix())


def log_crop(client, run_id: str, workdir: Path, *, dataset: str, image: str, scale: int, sr: np.ndarray,
             boxes) -> None:
    """Log one declared crop image of a cell: its SR output, the HR image and the scores of every box inside it
    (a box outside the image is left out here; the report names it, from the logged HR image)."""
    set_id = dataset_id(dataset)
    _log_image(client, run_id, workdir, schema.crop_artifact(set_id, image, scale), sr)
    hr = hr_image(dataset, image, scale)
    _log_image(client, run_id, workdir, schema.crop_hr_artifact(set_id, image, scale), hr)
    sr_rgb, values = to_rgb(np.asarray(sr)), {}
    for box in boxes:
        if sr_rgb.shape == hr.shape and box_inside(hr.shape, box):
            for what, value in zip(schema.CROP_METRICS, crop_scores(sr_rgb, hr, box)):
                if value is not None and np.isfinite(value):
                    values[schema.crop_metric(what, set_id, image, box)] = float(value)
    RunWriter(client, run_id).metrics(values)  # nothing when no box was scored
