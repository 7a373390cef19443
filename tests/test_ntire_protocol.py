"""The ``ntire_esr`` protocol preset and the challenge's dataset layout (DIV2K_LSDIR_valid_HR beside
DIV2K_LSDIR_valid_LR), on a synthetic folder, against the challenge's PSNR written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from srbench.core.errors import SrbenchError
from srbench.data.datasets import load_samples, resolve_dataset
from srbench.eval.protocol import get_protocol
from srbench.eval.scoring import score_pair


def test_preset_knobs():
    p = get_protocol("ntire_esr")
    assert (p.color, p.border_for(4), p.quantize, p.lr_source, p.gray) == ("rgb", 4, "round", "file", "replicate")


def test_rgb_psnr_with_border_crop_as_the_challenge_computes_it():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (40, 44, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(int) + rng.integers(-6, 7, hr.shape), 0, 255).astype(np.uint8)
    sr[:4] = 0  # damage only the border rows: the crop of 4 (= scale) must hide them
    # the challenge's calculate_psnr: crop `border` px, float64 MSE over every pixel and channel, 20·log10(255/√MSE)
    a, b = sr[4:-4, 4:-4].astype(np.float64), hr[4:-4, 4:-4].astype(np.float64)
    expected = 20 * np.log10(255.0 / np.sqrt(np.mean((a - b) ** 2)))
    psnr, _ = score_pair(sr, hr, scale=4, protocol=get_protocol("ntire_esr"), gray=False)
    assert psnr == pytest.approx(expected, abs=1e-9)


def test_challenge_layout_is_a_dataset_with_its_lr_as_given(challenge_folder):
    root = challenge_folder
    assert resolve_dataset(root) == root.resolve()
    samples = list(load_samples(root, 4))
    assert [s.name for s in samples] == ["000001", "0801"]
    for s in samples:
        assert s.hr.shape == (48, 44, 3) and s.lr.shape == (12, 11, 3)
        assert np.array_equal(s.lr, s.hr[::4, ::4])  # the shipped file, not a regenerated bicubic


def test_two_pairs_are_ambiguous(challenge_folder):
    root = challenge_folder
    (root / "DIV2K_LSDIR_test_HR").mkdir()
    (root / "DIV2K_LSDIR_test_LR").mkdir()
    with pytest.raises(SrbenchError, match="no HR folder"):
        resolve_dataset(root)
