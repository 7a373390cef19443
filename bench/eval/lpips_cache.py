"""LPIPS features of HR images, computed once and kept on disk by content, not recomputed in every cell.

Every x4 cell of the default benchmark measures LPIPS on Set5, Set14 and B100, and half of each LPIPS pair is the HR
image's AlexNet features, the same in every cell (for one input range and border crop). They are too large to keep
in memory (about 0.8 GB for those three sets: ten float32 values per HR pixel), so they are kept in the store's cache
(``<cache>/lpips/<key>.f32``: a JSON line of the five shapes, then their float32 values), named by what decides them: the HR pixels as measured (their
:func:`~srbench.core.hashing.array_sha256`), the input range, the LPIPS weights' sha256 and the code that computes
them. Read back, they are the very arrays computed, so a cached LPIPS equals a computed one bit for bit
(``tests/test_lpips_cache.py``). An unreadable or mismatched file is computed again and replaced; deleting the folder
only costs time.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from srbench.core.code_identity import source_fingerprint
from srbench.core.hashing import array_sha256
from srbench.core.raw_file import read_header_and_values, write_header_and_values
from srbench.core.store import cache_root
from srbench.eval import lpips as lpips_module
from srbench.eval.lpips import _CONVS, CHANNELS, LPIPS, image_tensor

#: the file layout: a JSON line with the five shapes, then the float32 values (no zip: no CRC pass on every read)
FORMAT = "srbench-lpips-features/1"


@lru_cache(maxsize=1)
def feature_code() -> str:
    """A hash of the code that turns an HR image into its normalised features (a change there invalidates files)."""
    return source_fingerprint(*(inspect.getsource(f) for f in (
        lpips_module.AlexNetFeatures, lpips_module.max_pool_3x3_stride2, lpips_module.normalize_channels,
        LPIPS.image_features, LPIPS._scaled_table,
        LPIPS._normalized, lpips_module.checked_rgb, image_tensor)),
        repr((lpips_module.SHIFT, lpips_module.SCALE, lpips_module.NORM_EPS)), FORMAT)[:16]


def feature_file(hr_u8: np.ndarray, input_range: str, weights_sha256: str) -> Path:
    """Where the features of these HR pixels are kept."""
    identity = {"pixels": array_sha256(hr_u8), "input_range": input_range, "weights": weights_sha256,
                "code": feature_code()}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
    return cache_root() / "lpips" / f"{key}.f32"


def _read(path: Path, hr_shape: tuple[int, ...]) -> list[np.ndarray] | None:
    """The five arrays of ``path`` when it holds features of an image of this size, else None."""
    read = read_header_and_values(path, "<f4")
    if read is None:
        return None
    header, flat = read
    try:
        shapes = [tuple(int(n) for n in shape) for shape in header["shapes"]]
    except (KeyError, TypeError, ValueError):
        return None
    if len(shapes) != len(CHANNELS) or any(len(s) != 4 or s[:2] != (1, c) for s, c in zip(shapes, CHANNELS)):
        return None
    sizes = [int(np.prod(s)) for s in shapes]
    _, _, kernel, stride, padding = _CONVS[0]  # relu1's height follows from the HR's through conv1
    if sum(sizes) != flat.size or shapes[0][2] != (hr_shape[0] + 2 * padding - kernel) // stride + 1:
        return None
    ends = np.cumsum(sizes)
    return [flat[end - size:end].reshape(shape) for end, size, shape in zip(ends, sizes, shapes)]


def _write(path: Path, arrays: list[np.ndarray]) -> None:
    """One line of JSON (the five shapes), then the arrays' float32 values, little-endian, one after another."""
    try:
        write_header_and_values(path, {"format": FORMAT, "shapes": [list(a.shape) for a in arrays]}, arrays, "<f4")
    except OSError:
        pass


def hr_features(net: LPIPS, hr_u8: np.ndarray, input_range: str) -> list[torch.Tensor]:
    """``net.normalized_features`` of the HR image ``hr_u8`` (contiguous uint8 RGB, already cropped as measured),
    from the cache or computed now and cached (best effort: a read-only cache just is not written)."""
    weights = getattr(net, "weights_sha256", None)
    device = net.shift.device
    if weights is None:  # a network not from load_lpips: nothing names its weights, so nothing is cached
        with torch.inference_mode():
            return net.image_features(hr_u8, input_range)
    path = feature_file(hr_u8, input_range, weights)
    arrays = _read(path, hr_u8.shape) if path.is_file() else None
    if arrays is None:
        with torch.inference_mode():
            features = net.image_features(hr_u8, input_range)
        _write(path, [f.cpu().numpy() for f in features])
        return features
    return [torch.from_numpy(a).to(device) for a in arrays]
