"""The protocol knobs of issue #26 (luma, quantize=float, ssim=skimage, aggregate, lr_source/lr_modcrop): each one's
definition against hand-computed values or scikit-image, and its validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srbench.core.errors import SrbenchError
from srbench.eval.evaluate import DatasetResult, ImageResult, evaluate
from srbench.eval.metrics import rgb_to_y_full, ssim
from srbench.eval.protocol import Protocol, get_protocol
from srbench.eval.scoring import ImageScore, ImageScorer, dataset_psnr, quantize, score_pair

STANDARD = get_protocol("standard")


def test_standard_protocol_keeps_its_values():
    p = STANDARD
    assert (p.luma, p.quantize, p.ssim, p.aggregate, p.lr_source, p.lr_modcrop) == (
        "bt601_limited", "round", "gaussian11", "per_image", "file", True)
    assert p.lr_input == "file"


def test_new_knobs_validated():
    assert Protocol(lr_source="pil", lr_modcrop=False).lr_input == "pil/full"
    for bad in ({"luma": "bt709"}, {"quantize": "ceil"}, {"ssim": "gaussian7"}, {"aggregate": "median"},
                {"lr_source": "matlab"}, {"lr_modcrop": "no"}):
        with pytest.raises(SrbenchError):
            Protocol(**bad)
    with pytest.raises(SrbenchError, match="lr_modcrop=false needs a generated LR"):
        Protocol(lr_modcrop=False)


def test_rgb_to_y_full_hand_computed():
    px = np.array([[[255, 255, 255], [255, 0, 0], [10, 20, 30]]], np.uint8)
    assert rgb_to_y_full(px)[0] == pytest.approx([255.0, 76.245, 2.99 + 11.74 + 3.42], abs=1e-9)


def _pair(sr_value, hr_value, shape=(24, 24, 3)):
    return np.full(shape, sr_value, np.uint8), np.full(shape, hr_value, np.uint8)


def test_luma_knob_changes_the_measured_plane():
    """A gray-level error of 10 on every pixel: full-range Y keeps it (MSE 100), limited-range Y scales it by
    219/255."""
    sr, hr = _pair(110, 100)
    full = score_pair(sr, hr, scale=2, protocol=STANDARD.with_(luma="bt601_full"), gray=False)[0]
    limited = score_pair(sr, hr, scale=2, protocol=STANDARD, gray=False)[0]
    assert full == pytest.approx(10 * math.log10(255 ** 2 / 100), abs=1e-9)
    assert limited == pytest.approx(10 * math.log10(255 ** 2 / (10 * 219 / 255) ** 2), abs=1e-9)
    rgb = STANDARD.with_(color="rgb")  # luma does nothing on RGB
    assert score_pair(sr, hr, scale=2, protocol=rgb.with_(luma="bt601_full"), gray=False) == \
        score_pair(sr, hr, scale=2, protocol=rgb, gray=False)


def test_quantize_float_has_no_8bit_step():
    x = np.array([0.5 / 255, 100.4 / 255, 1.2, -0.1])
    assert quantize(x, "float") == pytest.approx([0.5, 100.4, 255.0, 0.0], abs=1e-9)
    sr01 = np.full((24, 24, 3), 100.4 / 255)
    hr = np.full((24, 24, 3), 100, np.uint8)
    scorer = ImageScorer(sr01, hr, scale=2, gray=False)
    rgb = STANDARD.with_(color="rgb")
    assert scorer.score(rgb).psnr == math.inf  # rounded: 100 == 100
    assert scorer.score(rgb.with_(quantize="float")).psnr == pytest.approx(10 * math.log10(255 ** 2 / 0.16), abs=1e-6)
    assert scorer.score(rgb.with_(quantize="truncate")).psnr == math.inf  # floor(100.4) = 100


def test_ssim_skimage_matches_scikit_image_default():
    """scikit-image's structural_similarity with its defaults (7x7 uniform window, sample covariance), the
    independent reference; the standard window stays the Gaussian one."""
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (40, 37)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    assert ssim(a, b, window="uniform7") == pytest.approx(structural_similarity(a, b, data_range=255), abs=1e-12)
    gauss = structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert ssim(a, b) == pytest.approx(gauss, abs=1e-12)
    sr, hr = a.astype(np.uint8), b.astype(np.uint8)
    sk = ImageScorer(sr, hr, scale=2, gray=True, quantized=True).score(STANDARD.with_(ssim="skimage", gray="raw"))
    assert sk.ssim == pytest.approx(structural_similarity(sr[2:-2, 2:-2].astype(float), hr[2:-2, 2:-2].astype(float),
                                                          data_range=255), abs=1e-12)


def test_aggregate_dataset_mse_hand_computed():
    """Two images with MSE 1 and 100: the mean of the PSNRs is (48.13 + 28.13) / 2; the PSNR of the mean MSE is
    10 log10(255^2 / 50.5)."""
    scores = [ImageScore(10 * math.log10(255 ** 2 / 1), 1.0, 1.0),
              ImageScore(10 * math.log10(255 ** 2 / 100), 1.0, 100.0)]
    per_image = dataset_psnr(scores, STANDARD)
    pooled = dataset_psnr(scores, STANDARD.with_(aggregate="dataset_mse"))
    assert per_image == pytest.approx((48.1308036 + 28.1308036) / 2, abs=1e-6)
    assert pooled == pytest.approx(10 * math.log10(255 ** 2 / 50.5), abs=1e-9)
    result = DatasetResult("d", 4, [ImageResult(f"i{k}", s.psnr, s.ssim, 0.0, mse=s.mse) for k, s in enumerate(scores)],
                           protocol=STANDARD.with_(aggregate="dataset_mse"))
    assert result.psnr == pytest.approx(pooled, abs=1e-12)


def test_scorer_memo_gives_score_pair_numbers():
    """The memoising scorer (used by evaluate and explain) measures exactly what score_pair does, for every knob."""
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (30, 28, 3)).astype(np.uint8)
    out = np.clip(hr / 255 + rng.normal(0, 0.03, hr.shape), -0.1, 1.1)
    scorer = ImageScorer(out, hr, scale=2, gray=False)
    for proto in (STANDARD, STANDARD.with_(color="rgb"), STANDARD.with_(luma="bt601_full"),
                  STANDARD.with_(border=0), STANDARD.with_(quantize="truncate"), STANDARD.with_(ssim="skimage")):
        p, s = score_pair(quantize(out, proto.quantize), hr, scale=2, protocol=proto, gray=False)
        got = scorer.score(proto)
        assert (got.psnr, got.ssim) == (p, s)


def test_evaluate_with_library_lr_and_no_modcrop(tiny_dataset, tmp_path):
    """evaluate() runs on another generator's LR, with and without mod-crop (bicubic upscaling as the model), on
    images whose sides are not multiples of the scale (so the mod-crop matters)."""
    from srbench.data.images import read_image, write_image
    from srbench.models import create_model

    odd = tmp_path / "Odd"
    for f in sorted((tiny_dataset / "HR").iterdir()):
        write_image(odd / "HR" / f.name, read_image(f)[:47, :59])
    model = create_model("bicubic")
    a = evaluate(model, odd, 4, STANDARD.with_(lr_source="torch"), progress=False)
    b = evaluate(model, odd, 4, STANDARD.with_(lr_source="torch", lr_modcrop=False), progress=False)
    c = evaluate(model, odd, 4, STANDARD.with_(lr_source="generate"), progress=False)
    assert len(a.images) == len(b.images) == 3
    assert len({round(a.psnr, 6), round(b.psnr, 6), round(c.psnr, 6)}) == 3
