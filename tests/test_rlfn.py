"""RLFN (models/rlfn.py): the released NTIRE 2022 file loads strictly, its parameter count is the published one, and
a forward pass makes a x4 image in the [0, 255] range it was trained on."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from srbench.core.store import mirror_root
from srbench.models.rlfn import INPUT_RANGE, RELEASED_X4, RLFN
from srbench.models.weights import load_checkpoint

FILE = "rlfn_ntire2022_x4.pth"


def _released() -> tuple:
    root = mirror_root()
    zoo = None if root is None else root / "weights" / "zoo"
    if zoo is None or not (zoo / FILE).is_file():
        pytest.skip(f"{FILE} not in the mirror's weights/zoo (set SRBENCH_MIRROR)")
    with open(zoo / "MANIFEST.tsv", newline="") as f:
        sha = {row["file"]: row["sha256"] for row in csv.DictReader(f, delimiter="\t")}[FILE]
    return zoo / FILE, sha


def test_params_match_the_published_count():
    # NTIRE 2022 ESR report / the organisers' results: RLFN 0.317218 M parameters (317,218).
    assert sum(p.numel() for p in RLFN(**RELEASED_X4).parameters()) == 317_218


def test_released_file_loads_strictly_and_makes_an_image_in_its_range():
    path, sha = _released()
    model = load_checkpoint(RLFN(**RELEASED_X4), path, sha256=sha).eval()
    assert INPUT_RANGE == (0.0, 255.0)
    # a smooth 8-bit-valued test image: an SR network trained on [0, 255] reproduces it roughly, in [0, 255]
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 24), torch.linspace(0, 1, 20), indexing="ij")
    lr = torch.stack([60 + 120 * xx, 50 + 150 * yy, 200 - 100 * xx * yy]).round().unsqueeze(0)
    with torch.no_grad():
        sr = model(lr)
    assert sr.shape == (1, 3, 96, 80)
    inner = sr[..., 8:-8, 8:-8]
    assert float(inner.min()) > -5 and float(inner.max()) < 260
    # the x4 output, averaged over each 4x4 block, is close to the LR image (a [0, 1] model would be far off)
    pooled = torch.nn.functional.avg_pool2d(sr, 4)
    assert float((pooled - lr)[..., 2:-2, 2:-2].abs().mean()) < 3.0


def test_wrong_settings_do_not_load():
    from srbench.core.errors import SrbenchError

    path, sha = _released()
    with pytest.raises(SrbenchError, match="does not fit"):
        load_checkpoint(RLFN(**{**RELEASED_X4, "features": 48}), path, sha256=sha)
    assert np.isfinite(sum(p.sum().item() for p in RLFN().parameters()))
