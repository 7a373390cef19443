"""Is an ablation difference larger than training noise? Statistics over training seeds.

Every (point, seed) of an ablation is one training run, evaluated once: its mean PSNR (or SSIM) over a test set's
images is one number per seed. For a point: the mean and the sample standard deviation (n - 1 in the denominator)
of those per-run means over its seeds. Against the baseline: the per-seed paired differences
``d_i = point(seed i) - baseline(seed i)`` over the seeds both have (the same seed means the same data order, so the
pairing removes what the seeds share), their mean ``d̄`` and the Student t-interval
``d̄ ± t(1 - α/2, n - 1) · s_d / √n`` (:func:`scipy.stats.t.ppf`). With 3 seeds a bootstrap over seeds would have only
10 distinct resamples, hence the t-interval; it needs at least 2 paired seeds.

What it answers: whether retraining with other seeds would likely give a difference of the same sign. Unlike the
image-level bootstrap (:mod:`srbench.report.bootstrap`), it includes the largest source of variation of a training
ablation, the training run itself; it says nothing about other budgets or data.

Intervals are returned as :class:`~srbench.report.bootstrap.BootstrapCI` records (mean, low, high, n; the same
``excludes_zero`` and ``text()``), so both kinds print alike.
"""

from __future__ import annotations

import math

import numpy as np

from srbench.report.bootstrap import CONFIDENCE, BootstrapCI


def mean_std(values) -> tuple[float | None, float | None, int]:
    """(mean, sample standard deviation, n) of the finite values; std is None below 2 values, mean below 1."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return None, None, 0
    return float(x.mean()), (float(x.std(ddof=1)) if x.size > 1 else None), int(x.size)


def t_interval(x, *, confidence: float = CONFIDENCE) -> BootstrapCI | None:
    """Mean of ``x`` with its two-sided Student t confidence interval; None for fewer than 2 finite values."""
    from scipy.stats import t

    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 2 or not np.all(np.isfinite(x)):
        return None
    n = x.size
    mean = float(x.mean())
    half = float(t.ppf(1.0 - (1.0 - confidence) / 2.0, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return BootstrapCI(mean=mean, low=mean - half, high=mean + half, n=n, confidence=confidence)


def paired_seed_difference(point: dict, baseline: dict, *, confidence: float = CONFIDENCE) -> BootstrapCI | None:
    """t-interval of ``point[seed] - baseline[seed]`` over the seeds both dicts hold (seed -> per-run mean)."""
    seeds = sorted(set(point) & set(baseline), key=str)
    pairs = [(point[s], baseline[s]) for s in seeds if point[s] is not None and baseline[s] is not None]
    return t_interval([a - b for a, b in pairs], confidence=confidence)
