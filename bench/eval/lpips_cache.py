"""LPIPS features of HR images, computed once and kept on disk by content, not recomputed in every cell.

Every x4 cell of the default benchmark measures LPIPS on Set5, Set14 and B100, and half of each LPIPS pair is the HR
image's AlexNet features, the same in every cell (for one input range and border crop). They are too large to keep
in memory (about 0.8 GB for those three sets: ten float32 values per HR pixel), so they are kept in the store's cache
(``<cache>/lpips/<key>.npz``, five float32 arrays), named by what decides them: the HR pixels as measured (their
:func:`~srbench.core.hashing.array_sha256`), the input range, the LPIPS weights' sha256 and the code that computes
them. Read back, they are the very arrays computed, so a cached LPIPS equals a computed one bit for bit
(``tests/test_lpips_cache.py``). An unreadable or mismatched file is computed again and replaced; deleting the folder
only costs time.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from srbench.core.atomic import write_bytes_atomic
from srbench.core.code_identity import source_fingerprint
from srbench.core.hashing import array_sha256
from srbench.core.store import cache_root
from srbench.eval import lpips as lpips_module
from srbench.eval.lpips import _CONVS, CHANNELS, LPIPS, image_tensor


@lru_cache(maxsize=1)
def feature_code() -> str:
    """A hash of the code that turns an HR image into its normalised features (a change there invalidates files)."""
    return source_fingerprint(*(inspect.getsource(f) for f in (
        lpips_module.AlexNetFeatures, lpips_module.normalize_channels, LPIPS.normalized_features, image_tensor)),
        repr((lpips_module.SHIFT, lpips_module.SCALE, lpips_module.NORM_EPS)))[:16]


def feature_file(hr_u8: np.ndarray, input_range: str, weights_sha256: str) -> Path:
    """Where the features of these HR pixels are kept."""
    identity = {"pixels": array_sha256(hr_u8), "input_range": input_range, "weights": weights_sha256,
                "code": feature_code()}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
    return cache_root() / "lpips" / f"{key}.npz"


def _read(path: Path, hr_shape: tuple[int, ...]) -> list[np.ndarray] | None:
    """The five arrays of ``path`` when it holds features of an image of this size, else None."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = [npz[f"relu{i + 1}"] for i in range(len(CHANNELS))]
    except (OSError, ValueError, KeyError, EOFError):
        return None
    ok = all(a.dtype == np.float32 and a.ndim == 4 and a.shape[:2] == (1, c) for a, c in zip(arrays, CHANNELS))
    _, _, kernel, stride, padding = _CONVS[0]  # relu1's height follows from the HR's through conv1
    return arrays if ok and arrays[0].shape[2] == (hr_shape[0] + 2 * padding - kernel) // stride + 1 else None


def hr_features(net: LPIPS, hr_u8: np.ndarray, input_range: str) -> list[torch.Tensor]:
    """``net.normalized_features`` of the HR image ``hr_u8`` (contiguous uint8 RGB, already cropped as measured),
    from the cache or computed now and cached (best effort: a read-only cache just is not written)."""
    weights = getattr(net, "weights_sha256", None)
    device = net.shift.device
    if weights is None:  # a network not from load_lpips: nothing names its weights, so nothing is cached
        with torch.inference_mode():
            return net.normalized_features(image_tensor(hr_u8, input_range).to(device))
    path = feature_file(hr_u8, input_range, weights)
    arrays = _read(path, hr_u8.shape) if path.is_file() else None
    if arrays is None:
        with torch.inference_mode():
            features = net.normalized_features(image_tensor(hr_u8, input_range).to(device))
        arrays = [f.cpu().numpy() for f in features]
        buffer = io.BytesIO()
        np.savez(buffer, **{f"relu{i + 1}": a for i, a in enumerate(arrays)})
        try:
            write_bytes_atomic(path, buffer.getvalue())
        except OSError:
            pass
        return features
    return [torch.from_numpy(a).to(device) for a in arrays]
