"""bench.report.bootstrap against independent references: exact limits, scipy.stats.bootstrap, normal theory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from srbench.report.bootstrap import bootstrap_mean, paired_bootstrap, paired_frames


def test_constant_shift_collapses_to_the_shift():
    rng = np.random.default_rng(1)
    b = rng.normal(30.0, 3.0, size=2000)
    ci = paired_bootstrap(b + 0.3, b)
    assert ci.mean == pytest.approx(0.3, abs=1e-9)
    assert ci.low == pytest.approx(0.3, abs=1e-9) and ci.high == pytest.approx(0.3, abs=1e-9)
    assert ci.excludes_zero and ci.n == 2000


def test_matches_scipy_percentile_bootstrap():
    rng = np.random.default_rng(2)
    b = rng.normal(28.0, 2.0, size=80)
    a = b + rng.normal(0.1, 0.4, size=80)          # paired: a differs from b by a noisy shift
    ours = paired_bootstrap(a, b, n_resamples=10_000, seed=0)
    ref = stats.bootstrap((a, b), lambda x, y, axis=-1: np.mean(x - y, axis=axis), paired=True, vectorized=True,
                          n_resamples=10_000, method="percentile", confidence_level=0.95,
                          random_state=np.random.default_rng(123))
    sd_boot = ref.standard_error
    # Monte-Carlo error of a 2.5 % quantile from 10,000 resamples is about 0.03 bootstrap SDs per estimate
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.15 * sd_boot)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.15 * sd_boot)
    assert ours.mean == pytest.approx(np.mean(a - b), abs=1e-12)


def test_agrees_with_normal_theory_for_a_large_sample():
    rng = np.random.default_rng(3)
    d = rng.normal(0.05, 0.5, size=3000)
    ci = bootstrap_mean(d, n_resamples=4000, seed=5)
    half = 1.959964 * d.std(ddof=0) / np.sqrt(d.size)
    assert ci.low == pytest.approx(d.mean() - half, abs=0.1 * half)
    assert ci.high == pytest.approx(d.mean() + half, abs=0.1 * half)


def test_fixed_seed_is_deterministic_and_the_seed_matters():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert paired_bootstrap(a, b, seed=7) == paired_bootstrap(a, b, seed=7)
    assert paired_bootstrap(a, b, seed=7).low != paired_bootstrap(a, b, seed=8).low


def test_interval_straddling_zero_and_text():
    d = np.array([-1.0, 1.0] * 20)
    ci = bootstrap_mean(d)
    assert ci.low < 0 < ci.high and not ci.excludes_zero
    assert ci.text() == f"+0.00 [{ci.low:+.2f}, {ci.high:+.2f}]"
    assert paired_bootstrap(np.ones(5) * 2, np.ones(5)).text() == "+1.00 [+1.00, +1.00]*"


def test_paired_frames_align_by_image_name():
    names = [f"img{i}" for i in range(30)]
    rng = np.random.default_rng(5)
    b = pd.DataFrame({"name": names, "psnr": rng.normal(30, 2, size=30)})
    a = b.assign(psnr=b["psnr"] + 0.2).sample(frac=1.0, random_state=0)   # shuffled rows
    x, y, common = paired_frames(a, b)
    assert common == sorted(names)
    ci = paired_bootstrap(x, y)
    assert ci.low == pytest.approx(0.2) and ci.high == pytest.approx(0.2)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        paired_bootstrap([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        bootstrap_mean([1.0])
    with pytest.raises(ValueError):
        bootstrap_mean([1.0, np.inf])
