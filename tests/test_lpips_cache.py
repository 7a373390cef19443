"""HR features of LPIPS kept on disk by content (srbench.eval.lpips_cache): the same distances, computed once.

The reference is LPIPS computed entirely in place (both images through the network), which tests/test_lpips.py and
tests/test_iqa_calibration.py check against the lpips package's heads and pyiqa's published values.
"""

from __future__ import annotations

import numpy as np
import pytest

from srbench.eval import lpips_cache
from srbench.eval.lpips import LPIPS, load_lpips, lpips_distance

RNG = np.random.default_rng(7)


@pytest.fixture
def pair():
    hr = RNG.integers(0, 256, (52, 61, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(int) + RNG.integers(-20, 21, hr.shape), 0, 255).astype(np.uint8)
    return sr, hr


@pytest.mark.parametrize("input_range", ["minus_one_one", "zero_one"])
def test_cached_hr_features_give_the_same_distance_bit_for_bit(pair, input_range, monkeypatch):
    net = load_lpips()
    sr, hr = pair
    reference = lpips_distance(sr, hr, input_range=input_range, net=net)
    computed = []
    real = LPIPS._normalized  # every image's features pass here
    monkeypatch.setattr(LPIPS, "_normalized", lambda self, x: computed.append(1) or real(self, x))
    first = lpips_distance(sr, hr, input_range=input_range, net=net,
                           hr_features=lpips_cache.hr_features(net, hr, input_range))
    second = lpips_distance(sr, hr, input_range=input_range, net=net,
                            hr_features=lpips_cache.hr_features(net, hr, input_range))
    assert first == reference and second == reference
    assert len(computed) == 3  # HR once (then read from disk), SR once per distance


def test_the_file_is_named_by_pixels_range_and_weights(pair):
    sr, hr = pair
    names = {lpips_cache.feature_file(hr, "minus_one_one", "w1"), lpips_cache.feature_file(hr, "zero_one", "w1"),
             lpips_cache.feature_file(hr, "minus_one_one", "w2"), lpips_cache.feature_file(sr, "minus_one_one", "w1")}
    assert len(names) == 4


def test_a_damaged_file_is_computed_again_and_replaced(pair):
    net = load_lpips()
    sr, hr = pair
    reference = lpips_distance(sr, hr, input_range="minus_one_one", net=net)
    lpips_cache.hr_features(net, hr, "minus_one_one")
    path = lpips_cache.feature_file(hr, "minus_one_one", net.weights_sha256)
    path.write_bytes(b"not a features file")
    again = lpips_cache.hr_features(net, hr, "minus_one_one")
    assert lpips_distance(sr, hr, input_range="minus_one_one", net=net, hr_features=again) == reference
    assert lpips_cache._read(path, hr.shape) is not None  # rewritten
