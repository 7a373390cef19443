"""srbench.eval.scoring.ImageScorer's reuse (what makes ``srbench explain`` cheap) gives the numbers of a direct
computation: one SSIM map serves every border crop, and quantisations whose planes are the same bits share one
plane; each value is checked against metrics computed directly on that protocol's own arrays (and scikit-image)."""

from __future__ import annotations

import numpy as np
import pytest

from srbench.eval import scoring
from srbench.eval.metrics import psnr, rgb_to_y, shave, ssim
from srbench.eval.protocol import get_protocol
from srbench.eval.scoring import ImageScorer, quantize

STANDARD = get_protocol("standard")
RNG = np.random.default_rng(11)
HR = RNG.integers(0, 256, (40, 52, 3), dtype=np.uint8)


def _direct(sr01: np.ndarray, mode: str, border: int, window: str = "gaussian11") -> tuple[float, float]:
    """PSNR and SSIM of the Y planes cropped by ``border``, computed from scratch for this one protocol."""
    sr, hr = shave(rgb_to_y(quantize(sr01, mode)), border), shave(rgb_to_y(HR), border)
    return psnr(sr, hr), ssim(sr, hr, window=window)


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = scoring.ssim_maps

    def counting(*args, **kwargs):
        calls.append(kwargs.get("window"))
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "ssim_maps", counting)
    return calls


def test_one_ssim_map_for_every_border(counted):
    sr01 = np.clip(HR / 255.0 + RNG.normal(0, 0.03, HR.shape), 0, 1).astype(np.float32)
    scorer = ImageScorer(sr01, HR, scale=4, gray=False)
    for border in (4, 0, 3):
        got = scorer.score(STANDARD.with_(border=border))
        assert (got.psnr, got.ssim) == _direct(sr01, "round", border)
    assert counted == ["gaussian11"]
    from skimage.metrics import structural_similarity

    sr, hr = shave(rgb_to_y(quantize(sr01, "round")), 4), shave(rgb_to_y(HR), 4)
    sk = structural_similarity(sr, hr, data_range=255, gaussian_weights=True, sigma=1.5,
                               use_sample_covariance=False)
    assert scorer.score(STANDARD).ssim == pytest.approx(sk, abs=1e-9)


def test_quantisations_with_the_same_plane_share_it(counted):
    on_grid = (HR.astype(np.float32) / 255).astype(np.float32)  # bicubic's kind of output: round == truncate here
    assert np.array_equal(quantize(on_grid, "round"), quantize(on_grid, "truncate"))
    scorer = ImageScorer(on_grid, HR, scale=2, gray=False)
    for mode in ("round", "truncate"):
        got = scorer.score(STANDARD.with_(quantize=mode))
        assert (got.psnr, got.ssim) == _direct(on_grid, mode, 2)
    assert len(counted) == 1

    off_grid = np.clip(on_grid + RNG.uniform(0.1, 0.9, HR.shape).astype(np.float32) / 255, 0, 1)
    assert not np.array_equal(quantize(off_grid, "round"), quantize(off_grid, "truncate"))
    scorer = ImageScorer(off_grid, HR, scale=2, gray=False)
    scores = {}
    for mode in ("round", "truncate", "float"):
        got = scorer.score(STANDARD.with_(quantize=mode))
        scores[mode] = got.psnr, got.ssim
        assert scores[mode] == _direct(off_grid, mode, 2)
    assert len(counted) == 4 and len(set(scores.values())) == 3


def test_reference_maps_kept_or_made_row_by_row_give_the_same_scores():
    """A shared Reference keeps SSIM's maps only of the planes several outputs read (explain's ``shared``); the
    others are made row by row beside the output's map. Every protocol's score is the same bits either way, and the
    same as a scorer with no shared reference."""
    from srbench.eval.scoring import Reference, plane_key

    sr01 = np.clip(HR / 255.0 + RNG.normal(0, 0.04, HR.shape), 0, 1).astype(np.float32)
    protocols = [STANDARD, STANDARD.with_(color="rgb"), STANDARD.with_(luma="bt601_full"),
                 STANDARD.with_(ssim="skimage"), STANDARD.with_(quantize="float", border=0)]
    alone = [ImageScorer(sr01, HR, scale=2, gray=False).score(p) for p in protocols]
    for shared in (None, set(), {(plane_key(STANDARD, False), "gaussian11")}):
        reference = Reference(HR, gray=False, shared=shared)
        got = [ImageScorer(sr01, HR, scale=2, gray=False, reference=reference).score(p) for p in protocols]
        assert got == alone
