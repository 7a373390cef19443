"""LPIPS v0.1 (AlexNet) in plain torch: the heads against the lpips package's own file, the network against an
independent numpy forward (tests/lpips_numpy.py), the metric's properties, and the restricted unpickler against
malicious pickles. The values themselves are checked against pyiqa's published ones in tests/test_iqa_calibration.py."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

from srbench.core.errors import SrbenchError
from srbench.eval.lpips import (LPIPS_SHA256, LPIPS_WEIGHTS, image_tensor, load_lpips, lpips_distance, lpips_weights_path,
                         max_pool_3x3_stride2, read_numpy_pickle)
from srbench.data.fetch import read_manifests
from srbench.data.images import read_image
from srbench.core.store import weights_dir
from lpips_numpy import numpy_lpips

LIN_FILE = "lpips_v0.1_alex_lin.pth"  # the lpips 0.1.4 wheel's lpips/weights/v0.1/alex.pth


@pytest.fixture(scope="module")
def net():
    """The network with the store's weights; skipped (with the reason) when the file has not been fetched."""
    try:
        lpips_weights_path()
    except SrbenchError as exc:
        pytest.skip(str(exc))
    return load_lpips()


@pytest.fixture(scope="module")
def crop(benchmark_root):
    """A 65x65 crop from the centre of Set5 baby (64x64 plus one row/column for the shifted copy)."""
    img = read_image(benchmark_root / "Set5" / "HR" / "baby.png")
    return img[224:289, 224:289]


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------------------------------- weights


def test_heads_equal_the_lpips_packages_file(net):
    path = weights_dir() / LIN_FILE
    if not path.is_file():
        pytest.skip(f"{path} is not in the store (run `srbench data`)")
    reference = torch.load(path, map_location="cpu", weights_only=True)
    assert sorted(reference) == [f"lin{i}.model.1.weight" for i in range(5)]
    for i, head in enumerate(net.heads):
        ref = reference[f"lin{i}.model.1.weight"]
        assert head.weight.shape == ref.shape
        torch.testing.assert_close(head.weight, ref, rtol=1e-6, atol=1e-8)
        assert head.bias is None
        assert float(ref.min()) >= 0.0  # the published heads are non-negative: LPIPS >= 0


def test_sha256_constant_matches_the_embedded_manifest():
    rows = {e.store_rel: e for e in read_manifests(None)}
    assert rows[f"weights/{LPIPS_WEIGHTS}"].sha256 == LPIPS_SHA256


def test_network_equals_an_independent_numpy_forward(net, crop):
    """tests/lpips_numpy.py: numpy convolutions, the trunk read with plain pickle, the heads from the lpips
    package's own file; nothing of srbench.eval.lpips."""
    hr = crop[:64, :64]
    rng = np.random.default_rng(1)
    sr = np.clip(hr + rng.normal(0, 12, hr.shape), 0, 255).round().astype(np.uint8)
    reference = numpy_lpips(sr / 127.5 - 1.0, hr / 127.5 - 1.0)
    assert reference > 0.05  # far from 0, so the relative comparison below has something to compare
    assert lpips_distance(sr, hr, input_range="minus_one_one", net=net) == pytest.approx(reference, rel=1e-4)


# --------------------------------------------------------------------------------------------------- the metric


def _noisy(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, sigma, img.shape)
    return np.clip(np.round(img + noise), 0, 255).astype(np.uint8)


def _blurred(img: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(np.round(gaussian_filter(img.astype(np.float64), (sigma, sigma, 0))), 0, 255).astype(np.uint8)


def test_identical_images_are_at_distance_zero(net, crop):
    hr = crop[:64, :64]
    for input_range in ("minus_one_one", "zero_one"):
        assert lpips_distance(hr, hr.copy(), input_range=input_range, net=net) == 0.0


def test_symmetric(net, crop):
    hr = crop[:64, :64]
    sr = _blurred(hr, 1.0)
    d01 = lpips_distance(sr, hr, input_range="minus_one_one", net=net)
    assert d01 > 0
    assert lpips_distance(hr, sr, input_range="minus_one_one", net=net) == pytest.approx(d01, rel=1e-6, abs=1e-9)


def test_orders_hand_made_distortions(net, crop):
    hr = crop[:64, :64]

    def d(img):
        return lpips_distance(img, hr, input_range="minus_one_one", net=net)

    noise = [d(_noisy(hr, s)) for s in (5, 15, 40)]
    blur = [d(_blurred(hr, s)) for s in (0.5, 1.5, 3.0)]
    shifted = d(crop[1:65, :64])  # the same scene one pixel down
    assert noise[0] < noise[1] < noise[2]
    assert blur[0] < blur[1] < blur[2]
    assert 0 < shifted < blur[1] / 4 and shifted < noise[2] / 4  # measured: 0.014 vs 0.18 and 0.75


def test_input_ranges_differ_and_zero_one_is_plain_division(net, crop):
    hr = crop[:64, :64]
    sr = _noisy(hr, 15)
    standard = lpips_distance(sr, hr, input_range="minus_one_one", net=net)
    report = lpips_distance(sr, hr, input_range="zero_one", net=net)
    assert standard > 0 and report > 0 and abs(standard - report) > 0.01 * standard
    # zero_one of odd values x is x / 255 = y / 127.5 - 1 for y = (x - 1) / 2 + 128, an 8-bit image: the two ranges
    # must then give the same distance
    odd_sr, odd_hr = sr | 1, hr | 1
    same_sr, same_hr = ((odd_sr - 1) // 2 + 128).astype(np.uint8), ((odd_hr - 1) // 2 + 128).astype(np.uint8)
    assert lpips_distance(odd_sr, odd_hr, input_range="zero_one", net=net) == pytest.approx(
        lpips_distance(same_sr, same_hr, input_range="minus_one_one", net=net), rel=1e-4)


def test_gray_images_are_replicated_to_rgb(net, crop):
    hr = crop[:64, :64, 1]
    sr = _blurred(hr[..., None], 1.0)[..., 0]
    rgb = lpips_distance(np.repeat(sr[..., None], 3, 2), np.repeat(hr[..., None], 3, 2), input_range="zero_one",
                         net=net)
    assert lpips_distance(sr, hr, input_range="zero_one", net=net) == rgb > 0


def _textbook(net, sr_u8, hr_u8, input_range):
    """LPIPS by the module docstring's steps written out, each on whole tensors (no tables, nothing in place)."""
    def trunk(x):  # torchvision's alexnet().features[:12] by torch's own layers (F.max_pool2d), read at its ReLUs
        c1, c2, c3, c4, c5 = net.features.convs
        r1 = F.relu(c1(x))
        r2 = F.relu(c2(F.max_pool2d(r1, kernel_size=3, stride=2)))
        r3 = F.relu(c3(F.max_pool2d(r2, kernel_size=3, stride=2)))
        r4 = F.relu(c4(r3))
        return [r1, r2, r3, r4, F.relu(c5(r4))]

    def features(img):
        x = (image_tensor(img, input_range) - net.shift) / net.scale
        return [f / (torch.sqrt(torch.sum(f ** 2, dim=1, keepdim=True)) + 1e-10) for f in trunk(x)]

    with torch.inference_mode():
        total = None
        for head, a, b in zip(net.heads, features(sr_u8), features(hr_u8)):
            term = head((a - b) ** 2).mean(dim=(1, 2, 3))
            total = term if total is None else total + term
        return float(total[0].item()), features(hr_u8)


@pytest.mark.parametrize("input_range", ["minus_one_one", "zero_one"])
@pytest.mark.parametrize("layout", ["rgb", "gray", "flipped", "strided"])
def test_the_table_path_is_the_textbook_bit_for_bit(net, crop, input_range, layout):
    """image_features (8-bit values through a 256-entry table per channel, normalised in place) and the distance
    (differences taken in place) give the very bits of the steps written out on whole tensors."""
    hr = {"rgb": crop[:64, :64], "gray": crop[:64, :64, 1], "flipped": crop[:64, ::-1],
          "strided": crop[::2, :, :]}[layout]
    sr = _noisy(hr if hr.ndim == 3 else hr[..., None], 9)
    sr = sr if hr.ndim == 3 else sr[..., 0]
    expected, hr_features = _textbook(net, sr, hr, input_range)
    with torch.inference_mode():
        table = net.image_features(hr, input_range)
    assert all(torch.equal(a, b) for a, b in zip(table, hr_features))
    assert lpips_distance(sr, hr, input_range=input_range, net=net) == expected


def test_max_pool_by_strided_maxima_is_torchs_max_pool():
    """The pooling of AlexNet's trunk against a hand-computed case and torch's own kernel, bit for bit, on odd and
    even sizes, ties, negative values and NaN."""
    x = torch.arange(25, dtype=torch.float32).view(1, 1, 5, 5)
    assert max_pool_3x3_stride2(x).flatten().tolist() == [12.0, 14.0, 22.0, 24.0]  # each window's bottom-right
    gen = torch.Generator().manual_seed(0)
    for h, w in [(3, 3), (4, 7), (79, 119), (80, 120), (39, 59)]:
        t = torch.randn(2, 5, h, w, generator=gen)
        t[0, 0, 0, 0] = float("nan")
        t[1, 1] = t[1, 1].round()  # ties
        got, want = max_pool_3x3_stride2(t), F.max_pool2d(t, kernel_size=3, stride=2)
        assert got.shape == want.shape and torch.equal(got.nan_to_num(7.0), want.nan_to_num(7.0))
        assert torch.equal(got.isnan(), want.isnan())
    with pytest.raises(ValueError, match="3x3"):
        max_pool_3x3_stride2(torch.zeros(1, 1, 2, 9))


def test_bad_inputs():
    img = np.zeros((40, 40, 3), np.uint8)
    with pytest.raises(SrbenchError, match="input_range 'unit'"):
        image_tensor(img, "unit")
    with pytest.raises(ValueError, match="at least 31x31"):
        image_tensor(img[:30], "zero_one")
    with pytest.raises(ValueError, match="uint8"):
        image_tensor(img.astype(np.float32), "zero_one")
    net = load_lpips()
    with pytest.raises(SrbenchError, match="input_range 'unit'"):
        net.image_features(img, "unit")
    with pytest.raises(ValueError, match="at least 31x31"):
        net.image_features(img[:30], "zero_one")


def test_the_network_is_cached_per_file_and_device(net):
    assert load_lpips(lpips_weights_path(), "cpu") is net


# --------------------------------------------------------------------------------------------------- unpickler


class _RunsShell:
    """Unpickling this calls os.system (the classic malicious pickle)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class _Evals:
    def __reduce__(self):
        return eval, ("__import__('os').getcwd()",)


def test_refuses_a_malicious_pickle_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.ckpt"
    payload = {"AlexNet_0": {"Conv_0": {"kernel": np.zeros(3, np.float32), "bias": _RunsShell(f"touch {marker}")}}}
    bad.write_bytes(pickle.dumps(payload, protocol=3))
    with pytest.raises(SrbenchError) as err:
        read_numpy_pickle(bad)
    message = _one_line(err)
    assert str(bad) in message and "system is not allowed" in message
    assert not marker.exists()  # refused at the global lookup: nothing ran

    evil = tmp_path / "eval.ckpt"
    evil.write_bytes(pickle.dumps([np.ones(2), _Evals()], protocol=4))
    with pytest.raises(SrbenchError, match="builtins.eval is not allowed"):
        read_numpy_pickle(evil)
    with pytest.raises(SrbenchError, match="sha256 mismatch"):
        load_lpips(evil)


def test_refuses_object_arrays_plain_objects_and_garbage(tmp_path):
    objects = tmp_path / "objects.ckpt"
    objects.write_bytes(pickle.dumps({"a": np.array([1, "x"], dtype=object)}, protocol=4))
    with pytest.raises(SrbenchError, match="not a numeric type"):
        read_numpy_pickle(objects)
    scalar = tmp_path / "scalar.ckpt"
    scalar.write_bytes(pickle.dumps({"a": {"b": 3}}))
    with pytest.raises(SrbenchError, match="/a/b holds a value of type int, not a numeric numpy array"):
        read_numpy_pickle(scalar)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(pickle.dumps({"a": np.ones(100)}, protocol=4)[:50])
    with pytest.raises(SrbenchError) as err:
        read_numpy_pickle(truncated)
    assert "not a readable pickle" in _one_line(err)


def test_accepts_numpy_arrays_and_checks_the_layout(tmp_path):
    kernel = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    arrays = {"AlexNet_0": {"Conv_0": {"kernel": kernel, "bias": [np.array([1, 2], np.int64)]}}}
    good = tmp_path / "good.ckpt"
    good.write_bytes(pickle.dumps(arrays, protocol=4))
    loaded = read_numpy_pickle(good)
    np.testing.assert_array_equal(loaded["AlexNet_0"]["Conv_0"]["kernel"], kernel)
    np.testing.assert_array_equal(loaded["AlexNet_0"]["Conv_0"]["bias"][0], [1, 2])
    with pytest.raises(SrbenchError) as err:
        load_lpips(good, sha256=None)  # right format, wrong content: the first kernel's shape is named
    assert "AlexNet_0/Conv_0/kernel has shape (1, 2, 3), expected (11, 11, 3, 64)" in _one_line(err)
