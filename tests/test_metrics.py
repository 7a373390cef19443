"""srbench.eval.metrics and srbench.eval.scoring: definitions, agreement with skimage, and the calibration.md bicubic values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srbench.eval.scoring import DOUBLE_SCALE_DB, score_pair, quantize
from srbench.eval.metrics import mse, psnr, rgb_to_y, rgb_to_y_full, shave, ssim
from srbench.eval.protocol import get_protocol
from srbench.data.datasets import load_samples, to_rgb
from srbench.data.images import read_image
from srbench.core.imresize import imresize
from srbench.core.store import benchmark_root

ROOT = benchmark_root()
needs_data = pytest.mark.skipif(not (ROOT / "Set5" / "HR").is_dir(), reason="no benchmark data: run `make data`")
STANDARD = get_protocol("standard")


def bicubic_scores(dataset: str, scale: int, protocol=STANDARD) -> dict[str, tuple[float, float]]:
    """Per image (PSNR, SSIM) of MATLAB-bicubic upscaling of the shipped LR (gray LR replicated to RGB)."""
    return {s.name: score_pair(imresize(to_rgb(s.lr), scale), s.hr, scale=scale, protocol=protocol, gray=s.gray)
            for s in load_samples(dataset, scale)}


# ---- definitions -------------------------------------------------------------------------------------------------

def test_rgb_to_y_pure_colors():
    colors = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    y = rgb_to_y(colors)[0]
    assert y.dtype == np.float64
    assert y == pytest.approx([235.0, 16.0, 16 + 65.481, 16 + 128.553, 16 + 24.966], abs=1e-9)


def test_psnr_hand_computed():
    a = np.full((8, 8), 100, np.uint8)
    assert psnr(a, a + 1) == pytest.approx(20 * math.log10(255), abs=1e-9)  # MSE 1 -> 48.1308 dB
    assert psnr(a, a + 1) == pytest.approx(48.1308, abs=1e-4)
    assert psnr(a, a) == math.inf
    assert psnr(a.astype(float) / 255, (a + 1).astype(float) / 255, data_range=1.0) == pytest.approx(48.1308, abs=1e-4)


def test_shave():
    img = np.arange(100).reshape(10, 10)
    assert shave(img, 0) is img
    assert shave(img, 3).shape == (4, 4) and shave(img, 3)[0, 0] == 33


def test_ssim_identical_and_shapes():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (32, 40, 3)).astype(np.float64)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    per_channel = [ssim(a[..., c], np.clip(a[..., c] + 9, 0, 255)) for c in range(3)]
    assert ssim(a, np.clip(a + 9, 0, 255)) == pytest.approx(np.mean(per_channel), abs=1e-15)
    with pytest.raises(ValueError):
        ssim(a[:10, :10, 0], a[:10, :10, 0])


@needs_data
def test_ssim_matches_skimage():
    from skimage.metrics import structural_similarity

    worst = 0.0
    for name in ("baby", "bird", "butterfly", "head", "woman"):
        hr = read_image(ROOT / "Set5" / "HR" / f"{name}.png")[:120, :150]
        lr = read_image(ROOT / "Set5" / "LR_bicubic" / "X2" / f"{name}x2.png")[:60, :75]
        a, b = rgb_to_y(hr), rgb_to_y(imresize(lr, 2))
        ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                    data_range=255)
        worst = max(worst, abs(ssim(a, b) - ref))
    assert worst < 1e-6


# ---- protocol knobs ----------------------------------------------------------------------------------------------

def test_quantize_modes():
    x = np.array([-0.1, 0.0, 0.5 / 255, 1.5 / 255, 0.9999 / 255 + 10 / 255, 1.0, 1.2])
    assert quantize(x, "round").tolist() == [0, 0, 0, 2, 11, 255, 255]  # numpy rounds half to even
    assert quantize(x, "truncate").tolist() == [0, 0, 0, 1, 10, 255, 255]
    assert quantize(x, "round").dtype == np.uint8
    with pytest.raises(ValueError):
        quantize(x, "ceil")



@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_in_place_luma_and_quantize_equal_the_textbook_expressions_bit_for_bit(dtype):
    """rgb_to_y, rgb_to_y_full and quantize are computed in place for speed; every value must be the plain
    expression's (compared as raw float bits, so -0.0 or a last-bit difference fails)."""
    rng = np.random.default_rng(7)
    unit = rng.uniform(-0.2, 1.2, (67, 91, 3))
    unit[0, :4, 0] = [0.5 / 255, 1.5 / 255, 2.5 / 255, 254.5 / 255]  # ties of the 8-bit grid
    img = (rng.integers(0, 256, unit.shape) if dtype == np.uint8 else unit * 255).astype(dtype)
    bits = lambda a: np.ascontiguousarray(a).view(np.uint64)  # noqa: E731
    def expected_y(f):
        return 16.0 + (65.481 * (f / 255.0)[..., 0] + 128.553 * (f / 255.0)[..., 1] + 24.966 * (f / 255.0)[..., 2])

    def expected_full(f):
        return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    planar = np.ascontiguousarray(img.transpose(2, 0, 1)).transpose(1, 2, 0)  # a network output's memory order
    columns_first = np.ascontiguousarray(img.transpose(1, 0, 2)).transpose(1, 0, 2)  # bicubic's output (imresize)
    layouts = (img, planar, np.asfortranarray(img), columns_first,  # read where they lie
               img[1:-2, 3:], img[::-1], img[:, ::2])  # a crop, a reversed view, a strided view (copied first)
    for layout in layouts:
        f = layout.astype(np.float64)
        assert np.array_equal(bits(rgb_to_y(layout)), bits(expected_y(f)))
        assert np.array_equal(bits(rgb_to_y_full(layout)), bits(expected_full(f)))
    out = unit.astype(dtype) if dtype != np.uint8 else unit
    clipped = np.clip(np.asarray(out, dtype=np.float64), 0.0, 1.0) * 255.0
    before = out.copy()
    assert np.array_equal(quantize(out, "round"), np.round(clipped).astype(np.uint8))
    assert np.array_equal(quantize(out, "truncate"), np.floor(clipped).astype(np.uint8))
    assert np.array_equal(bits(quantize(out, "float")), bits(clipped))
    assert np.array_equal(out, before)  # the caller's output is not modified

def test_quantize_reads_any_memory_layout():
    """quantize reads a network's output in its own memory order (no copy to C order first): every layout, a crop
    with gaps and a reversed view give the C-order result's values."""
    rng = np.random.default_rng(3)
    values = rng.uniform(-0.1, 1.1, (37, 41, 3)).astype(np.float32)
    expected = np.round(np.clip(values.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
    views = [np.ascontiguousarray(values.transpose(2, 0, 1)).transpose(1, 2, 0), np.asfortranarray(values),
             np.ascontiguousarray(values.transpose(1, 0, 2)).transpose(1, 0, 2)]
    for view in views:
        assert np.array_equal(quantize(view, "round"), expected)
    assert np.array_equal(quantize(values[3:-5, 2:-7], "round"), expected[3:-5, 2:-7])
    assert np.array_equal(quantize(values[::-1, ::2], "round"), expected[::-1, ::2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantize_refuses_non_finite_values(dtype):
    """numpy would turn a NaN or Inf output into some byte; quantize names the problem instead (forward passes refuse
    such outputs before, so this guards direct callers)."""
    for bad in (np.nan, np.inf, -np.inf):
        x = np.full((4, 5, 3), 0.5, dtype=dtype)
        x[3, 4, 2] = bad
        for mode in ("round", "truncate"):
            with pytest.raises(ValueError, match="NaN or Inf"):
                quantize(x, mode)


@pytest.mark.parametrize("changes", [{}, {"luma": "bt601_full"}, {"color": "rgb"}, {"gray": "raw"},
                                     {"quantize": "float"}, {"quantize": "truncate", "ssim": "skimage"}])
def test_scores_do_not_depend_on_the_outputs_memory_layout(changes):
    """A network's output may arrive in any memory layout (a permuted tensor: channels first, or columns first after
    MATLAB-style resizing along axes): its scores must be those of the same values in C order, to the last bit (the
    MSE's mean adds in memory order, so a plane that kept the input's layout would move its last bits)."""
    from srbench.eval.scoring import ImageScorer

    rng = np.random.default_rng(11)
    hr = rng.integers(0, 256, (280, 283, 3), dtype=np.uint8)
    hr[..., 1] = hr[..., 2] = hr[..., 0]  # a gray image (gray: raw measures its one channel)
    values = np.clip(hr / 255.0 + rng.normal(0, 0.03, hr.shape), 0, 1).astype(np.float32)
    layouts = {"channels first": np.ascontiguousarray(values.transpose(2, 0, 1)).transpose(1, 2, 0),
               "columns first": np.asfortranarray(values),
               "columns, then channels": np.ascontiguousarray(values.transpose(1, 0, 2)).transpose(1, 0, 2)}
    protocol = STANDARD.with_(**changes)
    expected = ImageScorer(values, hr, scale=2, gray=True).score(protocol)
    for name, output in layouts.items():
        assert not output.flags.c_contiguous and np.array_equal(output, values)
        got = ImageScorer(output, hr, scale=2, gray=True).score(protocol)
        assert (got.psnr, got.ssim, got.mse) == (expected.psnr, expected.ssim, expected.mse), name


def test_measure_knobs_on_synthetic_pair():
    rng = np.random.default_rng(2)
    hr = rng.integers(20, 230, (40, 40, 3), dtype=np.uint8)
    sr = (hr.astype(int) + rng.integers(-3, 4, hr.shape)).astype(np.uint8)
    std = score_pair(sr, hr, scale=4, protocol=STANDARD, gray=False)
    assert std[0] == pytest.approx(psnr(rgb_to_y(sr)[4:-4, 4:-4], rgb_to_y(hr)[4:-4, 4:-4]))
    report = get_protocol("ecdn_report")
    rep = score_pair(sr, hr, scale=4, protocol=report, gray=False)
    assert rep[0] == pytest.approx(psnr(sr, hr) + DOUBLE_SCALE_DB)  # RGB, no crop, +48.13 dB
    assert rep[1] == pytest.approx(ssim(sr.astype(float), hr.astype(float)))


def test_gray_raw_uses_mean_of_sr_channels():
    hr = np.tile(np.arange(0, 240, 8, dtype=np.uint8), (30, 1))
    sr = to_rgb(np.clip(hr.astype(int) + 2, 0, 255).astype(np.uint8))
    raw = score_pair(sr, hr, scale=2, protocol=get_protocol("paper_gray"), gray=True)
    assert raw[0] == pytest.approx(20 * math.log10(255 / 2))
    rep = score_pair(sr, hr, scale=2, protocol=STANDARD, gray=True)
    assert rep[0] - raw[0] == pytest.approx(20 * math.log10(255 / 219), abs=1e-9)


# ---- calibration.md: bicubic ------------------------------------------------------------------------------------

@needs_data
def test_calibration_bicubic_set5_x4_per_image():
    expected = {"baby": (31.784, 0.8575), "bird": (30.182, 0.8736), "butterfly": (22.100, 0.7375),
                "head": (31.613, 0.7546), "woman": (26.467, 0.8325)}
    got = bicubic_scores("Set5", 4)
    for name, (p, s) in expected.items():
        assert got[name][0] == pytest.approx(p, abs=0.01), name
        assert got[name][1] == pytest.approx(s, abs=0.0002), name
    assert np.mean([v[0] for v in got.values()]) == pytest.approx(28.429, abs=0.01)
    assert np.mean([v[1] for v in got.values()]) == pytest.approx(0.8111, abs=0.0002)


@needs_data
@pytest.mark.parametrize("scale,p,s", [(2, 33.673, 0.9303), (3, 30.403, 0.8689)])
def test_calibration_bicubic_set5_means(scale, p, s):
    got = bicubic_scores("Set5", scale)
    assert np.mean([v[0] for v in got.values()]) == pytest.approx(p, abs=0.01)
    assert np.mean([v[1] for v in got.values()]) == pytest.approx(s, abs=0.0002)


@needs_data
def test_gray_knob_on_set14_bridge():
    """'raw' measures the gray values; 'replicate' measures Y of replicated RGB, which is 1.32 dB higher."""
    sample = next(s for s in load_samples("Set14", 2) if s.name == "bridge")
    assert sample.gray and sample.hr.ndim == 2
    sr = imresize(to_rgb(sample.lr), 2)
    raw = score_pair(sr, sample.hr, scale=2, protocol=get_protocol("paper_gray"), gray=True)
    rep = score_pair(sr, sample.hr, scale=2, protocol=STANDARD, gray=True)
    assert rep[0] - raw[0] == pytest.approx(20 * math.log10(255 / 219), abs=0.01)


def test_ssim_works_in_a_forked_child():
    """SSIM filters on a thread pool; a child made by fork (multiprocessing on Linux) must get its own, not wait
    forever on the parent's threads, which it does not have."""
    import subprocess
    import sys

    script = (
        "import os, numpy as np\n"
        "from srbench.eval.metrics import ssim\n"
        "a = np.arange(64 * 64, dtype=np.float64).reshape(64, 64) % 251\n"
        "parent = ssim(a, a[::-1])\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0 if ssim(a, a[::-1]) == parent else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "raise SystemExit(os.waitstatus_to_exitcode(status))\n")
    done = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert done.returncode == 0


def test_ssim_with_a_reference_is_the_same_number():
    """``ssim_reference`` only skips the reference's own filterings: bit-identical SSIM, both windows, HxW and
    HxWx3, and still scikit-image's value (test_ssim_matches_skimage)."""
    from skimage.metrics import structural_similarity

    from srbench.eval.metrics import ssim_reference

    rng = np.random.default_rng(7)
    hr = rng.integers(0, 256, (40, 33, 3)).astype(np.float64)
    sr = np.clip(hr + rng.normal(0, 12, hr.shape), 0, 255)
    for a, b in ((sr, hr), (sr[..., 1], hr[..., 1])):
        for window in ("gaussian11", "uniform7"):
            assert ssim(a, b, window=window, reference=ssim_reference(b, window=window)) == ssim(a, b, window=window)
    sk = structural_similarity(sr[..., 0], hr[..., 0], data_range=255)  # its default: 7x7 uniform, sample covariance
    assert abs(ssim(sr[..., 0], hr[..., 0], window="uniform7",
                    reference=ssim_reference(hr[..., 0], window="uniform7")) - sk) < 1e-9


def _valid_filter(x, g):
    """scipy.ndimage.correlate1d along axis 0, then axis 1, at the positions where the window lies inside x."""
    from scipy.ndimage import correlate1d

    r = g.size // 2
    out = correlate1d(correlate1d(x, g, axis=0, mode="constant"), g, axis=1, mode="constant")
    return np.ascontiguousarray(out[r:x.shape[0] - r, r:x.shape[1] - r])


def _textbook_map(a, b, window):
    """The SSIM map as the textbook expression evaluates it with numpy, on scipy's filtered maps (sample
    covariance times N / (N - 1) for the uniform window)."""
    from srbench.eval.metrics import gaussian_window

    g, cov_norm = (gaussian_window(), 1.0) if window == "gaussian11" else (np.full(7, 1 / 7), 49 / 48)
    mu_a, mu_b, e_aa, e_bb, e_ab = (_valid_filter(x, g) for x in (a, b, a * a, b * b, a * b))
    var_a, var_b, cov = e_aa - mu_a * mu_a, e_bb - mu_b * mu_b, e_ab - mu_a * mu_b
    if cov_norm != 1.0:
        var_a, var_b, cov = var_a * cov_norm, var_b * cov_norm, cov * cov_norm
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))


def _same_bits(x, y):
    return x.shape == y.shape and np.array_equal(x.view(np.uint64), y.view(np.uint64))


@pytest.mark.parametrize("window", ["gaussian11", "uniform7"])
def test_ssim_map_and_its_crops_are_the_textbook_values_bit_for_bit(window):
    """The compiled SSIM map (two halves of rows on two threads) and one map serving every border crop: every value
    must be the very number of the textbook expression on freshly filtered maps of the cropped images."""
    from srbench.eval.metrics import ssim_map

    rng = np.random.default_rng(5)
    hr = rng.integers(0, 256, (181, 157)).astype(np.float64)  # 171 valid rows: split in two halves
    sr = np.clip(hr + rng.normal(0, 9, hr.shape), 0, 255)
    whole = ssim_map(sr, hr, window=window)
    r = 5 if window == "gaussian11" else 3
    assert whole.flags.c_contiguous and whole.shape == (181 - 2 * r, 157 - 2 * r)
    assert _same_bits(whole, _textbook_map(sr, hr, window))
    assert float(whole.mean()) == ssim(sr, hr, window=window) == float(_textbook_map(sr, hr, window).mean())
    for k in (1, 4, 60):  # 60: the crop's map is computed on one thread
        crop = ssim_map(sr[k:-k, k:-k], hr[k:-k, k:-k], window=window)
        assert np.array_equal(crop, whole[k:-k, k:-k]) and crop.flags.c_contiguous
        assert _same_bits(crop, _textbook_map(sr[k:-k, k:-k], hr[k:-k, k:-k], window))


@pytest.mark.parametrize("window", ["gaussian11", "uniform7"])
@pytest.mark.parametrize("shape", [(11, 11), (12, 40), (42, 19), (43, 64), (75, 33), (140, 97)])
def test_compiled_ssim_is_scipys_filters_and_the_textbook_bit_for_bit(window, shape):
    """The compiled kernel computes scipy.ndimage.correlate1d's two passes and SSIM's arithmetic itself: the
    reference maps (mean, mean squared, variance) and the map must be scipy's and the textbook's raw float bits, for
    images as small as the window, odd sizes, one thread (under 64 valid rows) and two, and values over a wide range
    (squares of 0-255, like the filtered squared planes)."""
    from srbench.eval.metrics import _window, ssim_map, ssim_reference

    g, cov_norm = _window(window)
    if min(shape) < g.size:
        pytest.skip("smaller than the window")
    rng = np.random.default_rng(sum(shape))
    x = rng.uniform(0, 255, shape) ** 2
    (ref,) = ssim_reference(x, window=window)
    mu = _valid_filter(x, g)
    var = _valid_filter(x * x, g) - mu * mu
    assert _same_bits(ref.mu, mu) and _same_bits(ref.mu_sq, mu * mu)
    assert _same_bits(ref.var, var * cov_norm if cov_norm != 1.0 else var)
    hr = rng.integers(0, 256, shape).astype(np.float64)
    sr = np.clip(hr + rng.normal(0, 12, shape), 0, 255)
    expected = _textbook_map(sr, hr, window)
    assert _same_bits(ssim_map(sr, hr, window=window), expected)  # the HR's maps made row by row, not kept
    assert _same_bits(ssim_map(sr, hr, window=window, reference=ssim_reference(hr, window=window)[0]), expected)


def test_ssim_map_refuses_reference_maps_of_another_image():
    """The compiled kernel reads the reference maps unchecked: maps of another size or window are refused first."""
    from srbench.eval.metrics import ssim_map, ssim_reference

    a = np.zeros((40, 40))
    with pytest.raises(ValueError, match="reference maps"):
        ssim_map(a, a, reference=ssim_reference(np.zeros((41, 40)))[0])
    with pytest.raises(ValueError, match="reference maps"):
        ssim_map(a, a, window="gaussian11", reference=ssim_reference(a, window="uniform7")[0])
    with pytest.raises(ValueError, match="differ in shape"):
        ssim_map(a, np.zeros((40, 41)))


def test_luma_kernel_refuses_strides_that_leave_its_buffer():
    """The compiled luma reads pixel (i, j) at i * row + j * col of the buffer it is given: strides that would read
    past the buffer, negative strides or rows outside the image are refused in C, before any pixel is read."""
    from srbench.eval import _kernels

    img, out = np.zeros((4, 5, 3), np.uint8), np.empty((4, 5))
    _kernels.luma_rows(img, 1, 4, 5, 15, 3, 1, True, 0, 4, out)  # interleaved: accepted
    for row, col, chan, lo, hi in ((16, 3, 1, 0, 4), (15, 3, 2, 0, 4), (15, -3, 1, 0, 4), (15, 3, 1, 0, 5)):
        with pytest.raises(ValueError, match="_kernels"):
            _kernels.luma_rows(img, 1, 4, 5, row, col, chan, True, lo, hi, out)


def test_mse_is_the_textbook_expression_bit_for_bit():
    """mse subtracts in float64 and squares in place; the value must be the plain expression's, for 8-bit and float
    planes and for cropped views (compared with ==)."""
    rng = np.random.default_rng(3)
    a8, b8 = rng.integers(0, 256, (2, 53, 61), dtype=np.uint8)
    af, bf = rng.uniform(0, 255, (2, 53, 61))
    for a, b in ((a8, b8), (af, bf), (af[4:-4, 4:-4], bf[4:-4, 4:-4]), (a8[:, 3:], b8[:, 3:])):
        assert mse(a, b) == float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    assert mse(np.array([[0, 10]], np.uint8), np.array([[3, 6]], np.uint8)) == (9 + 16) / 2  # by hand


@pytest.mark.parametrize("shape", [(11, 12), (13, 20), (23, 40, 3), (64, 67), (161, 203), (121, 97, 3)])
@pytest.mark.parametrize("border", [0, 1, 4])
def test_cropped_mse_and_mean_are_numpys_bit_for_bit(shape, border):
    """The compiled crop means add the crop's values in the order numpy's mean of its contiguous copy does
    (pairwise, blocks of 8 and 128): the same bits as numpy, for 2-D and HxWx3 planes, crops whose size is under 8,
    between the blocks and above them (compared with ==)."""
    from srbench.eval.metrics import cropped_mean, cropped_mse

    rng = np.random.default_rng(sum(shape) + border)
    a, b = rng.uniform(0, 255, (2, *shape))
    ca, cb = shave(a, border), shave(b, border)
    assert cropped_mse(a, b, border) == float(np.mean((ca.astype(np.float64) - cb.astype(np.float64)) ** 2))
    assert cropped_mean(a, border) == float(np.ascontiguousarray(ca).mean())
    tiny = rng.uniform(0, 1, (border * 2 + 2, border * 2 + 3))  # a crop of 6 values: added one by one
    assert cropped_mean(tiny, border) == float(np.ascontiguousarray(shave(tiny, border)).mean())


def test_cropped_mse_by_hand_and_for_other_arrays():
    """A hand-computed case, and arrays the kernel does not take (8-bit, views) give numpy's value."""
    from srbench.eval.metrics import cropped_mean, cropped_mse

    a = np.array([[9, 9, 9, 9], [9, 1, 2, 9], [9, 3, 4, 9], [9, 9, 9, 9]], dtype=np.float64)
    b = np.zeros_like(a)
    assert cropped_mse(a, b, 1) == (1 + 4 + 9 + 16) / 4
    assert cropped_mean(a, 1) == 2.5
    a8 = a.astype(np.uint8)
    assert cropped_mse(a8, b.astype(np.uint8), 1) == 7.5
    assert cropped_mean(a[:, ::-1], 1) == 2.5  # a reversed view: numpy's path
    with pytest.raises(ValueError, match="cannot shave"):
        cropped_mse(a, b, 2)


def test_luma_of_every_8bit_value_is_the_textbook_expression():
    """8-bit pixels take each channel's term from a table: every one of the 256 values in every channel, against
    the plain expressions (raw bits)."""
    v = np.arange(256)
    img = np.stack([v, np.roll(v, 85), np.roll(v, 170)], axis=1).reshape(16, 16, 3).astype(np.uint8)
    f = img.astype(np.float64)
    y = 16.0 + (65.481 * (f / 255.0)[..., 0] + 128.553 * (f / 255.0)[..., 1] + 24.966 * (f / 255.0)[..., 2])
    full = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    assert np.array_equal(rgb_to_y(img).view(np.uint64), y.view(np.uint64))
    assert np.array_equal(rgb_to_y_full(img).view(np.uint64), full.view(np.uint64))


def test_on_one_thread_computes_whole_images_on_the_calling_thread_only():
    """Inside on_one_thread, by_halves makes one call over all rows; outside, and in another thread, two halves."""
    import threading

    from srbench.eval.metrics import by_halves, on_one_thread

    def bands(rows=200):
        seen = []
        by_halves(rows, lambda lo, hi: seen.append((lo, hi)))
        return sorted(seen)

    assert bands() == [(0, 100), (100, 200)]
    with on_one_thread():
        assert bands() == [(0, 200)]
        other = []
        thread = threading.Thread(target=lambda: other.append(bands()))
        thread.start()
        thread.join()
        assert other == [[(0, 100), (100, 200)]]
    assert bands() == [(0, 100), (100, 200)]
