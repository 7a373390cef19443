"""An independent LPIPS v0.1 (AlexNet) for tests: numpy float64, no torch convolution, none of ``srbench.eval.lpips``.

Weights: the AlexNet trunk from the store's ``lpips_alexnet_v0.1.ckpt`` read with plain ``pickle`` (not the module's
restricted reader; safe because the file's sha256 is checked first against the value written here), and the five
linear heads from ``lpips_v0.1_alex_lin.pth``, the ``lpips`` 0.1.4 wheel's own ``weights/v0.1/alex.pth``, read with
``torch.load(weights_only=True)``. The forward is written from the paper and torchvision's AlexNet layer list; the
calibration against pyiqa's published values (tests/test_iqa_calibration.py) checks the project's network, and
tests/test_lpips.py checks the two agree.
"""

from __future__ import annotations

import hashlib
import pickle
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CKPT = "lpips_alexnet_v0.1.ckpt"
CKPT_SHA256 = "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"  # weights/MANIFEST.tsv of the mirror
HEADS = "lpips_v0.1_alex_lin.pth"  # the lpips 0.1.4 wheel's lpips/weights/v0.1/alex.pth
SHIFT = np.array([-0.030, -0.088, -0.188])
SCALE = np.array([0.458, 0.448, 0.450])
GEOMETRY = ((4, 2), (1, 2), (1, 1), (1, 1), (1, 1))  # stride, padding of AlexNet conv1..conv5


@lru_cache(maxsize=1)
def reference_weights() -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]:
    """([(kernel HWIO, bias)] of conv1..5, [head weights (C,)] of the five layers), float64."""
    import torch

    from srbench.core.store import weights_dir

    data = (weights_dir() / CKPT).read_bytes()
    assert hashlib.sha256(data).hexdigest() == CKPT_SHA256, f"{CKPT} is not the published file"
    tree = pickle.loads(data)
    convs = [(np.asarray(tree["AlexNet_0"][f"Conv_{i}"]["kernel"], np.float64),
              np.asarray(tree["AlexNet_0"][f"Conv_{i}"]["bias"], np.float64)) for i in range(5)]
    lin = torch.load(weights_dir() / HEADS, map_location="cpu", weights_only=True)
    heads = [lin[f"lin{i}.model.1.weight"].double().numpy().reshape(-1) for i in range(5)]
    return convs, heads


def _conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """Cross-correlation of an HxWxC image with an HWIO kernel, as a patch-by-kernel contraction."""
    k = kernel.shape[0]
    padded = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    patches = sliding_window_view(padded, (k, k), axis=(0, 1))[::stride, ::stride]  # Ho x Wo x C x k x k
    return np.einsum("hwcij,ijco->hwo", patches, kernel) + bias


def _max_pool(x: np.ndarray) -> np.ndarray:
    return sliding_window_view(x, (3, 3), axis=(0, 1))[::2, ::2].max(axis=(3, 4))


def _relus(img: np.ndarray, convs) -> list[np.ndarray]:
    x, outs = (img - SHIFT) / SCALE, []
    for i, ((kernel, bias), (stride, pad)) in enumerate(zip(convs, GEOMETRY)):
        if i in (1, 2):
            x = _max_pool(x)
        x = np.maximum(_conv(x, kernel, bias, stride, pad), 0)
        outs.append(x)
    return outs


def numpy_lpips(a: np.ndarray, b: np.ndarray) -> float:
    """LPIPS between two HxWx3 float images already in the network's input range (e.g. ``x / 127.5 - 1``)."""
    convs, heads = reference_weights()
    total = 0.0
    for fa, fb, weights in zip(_relus(a, convs), _relus(b, convs), heads):
        na = fa / (np.sqrt((fa ** 2).sum(axis=2, keepdims=True)) + 1e-10)
        nb = fb / (np.sqrt((fb ** 2).sum(axis=2, keepdims=True)) + 1e-10)
        total += float(((na - nb) ** 2 @ weights).mean())
    return total
