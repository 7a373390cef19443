#!/usr/bin/env python
"""The compiled scoring kernels (``srbench.eval._kernels``) against the numpy/scipy expressions they replace, in one
process: SSIM's map (both windows) and its reference maps, BT.601 luma, quantising to 8 bits, and the means over a
border crop (the MSE, the SSIM map's mean) added in numpy's order without copying the crop.

Each baseline is the plain expression the tests compare the kernels with, bit for bit (``tests/test_metrics.py``):
``scipy.ndimage.correlate1d`` along both axes cropped to the valid positions, then the textbook SSIM expression in
numpy; ``16 + 65.481 R/255 + ...`` in numpy; ``np.round(np.clip(x, 0, 1) * 255).astype(uint8)``; numpy's mean of
the crop's squared differences and of the map's crop made contiguous. The script first
checks that both give the same bits on the image, then times them in alternating rounds (noise from other processes
hits both alike) and prints each one's median time and the ratio. Not a test: timings depend on the machine and its
load. Sizes: a Set14-like 480x500 image and an Urban100 x2-like 1024x768 one (synthetic, seeded).

    .venv/bin/python scripts/bench_scoring.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import correlate1d

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srbench.eval.metrics import (_window, cropped_mean, cropped_mse, rgb_to_y, shave, ssim_map,  # noqa: E402
                                  ssim_reference)
from srbench.eval.scoring import quantize  # noqa: E402

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def valid_filter(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    r = g.size // 2
    out = correlate1d(correlate1d(x, g, axis=0, mode="constant"), g, axis=1, mode="constant")
    return out[r:x.shape[0] - r, r:x.shape[1] - r]


def numpy_reference(b: np.ndarray, window: str):
    g, cov_norm = _window(window)
    mu = valid_filter(b, g)
    mu_sq = mu * mu
    var = valid_filter(b * b, g) - mu_sq
    return mu, mu_sq, var * cov_norm if cov_norm != 1.0 else var


def numpy_ssim_map(a: np.ndarray, b: np.ndarray, window: str, reference: tuple) -> np.ndarray:
    g, cov_norm = _window(window)
    mu_b, mu_b_sq, var_b = reference
    mu_a = valid_filter(a, g)
    var_a, cov = valid_filter(a * a, g) - mu_a * mu_a, valid_filter(a * b, g) - mu_a * mu_b
    if cov_norm != 1.0:
        var_a, cov = var_a * cov_norm, cov * cov_norm
    return ((2 * mu_a * mu_b + C1) * (2 * cov + C2)) / ((mu_a ** 2 + mu_b_sq + C1) * (var_a + var_b + C2))


def numpy_luma(img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float64) / 255.0
    return 16.0 + (65.481 * f[..., 0] + 128.553 * f[..., 1] + 24.966 * f[..., 2])


def numpy_mse(a: np.ndarray, b: np.ndarray) -> np.float64:
    return np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)


def numpy_quantize(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    return x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x.view(np.uint8), y.view(np.uint8))


def timed(fn, rounds: int) -> tuple[float, float]:
    """Median seconds of the compiled call and of its baseline, alternating."""
    compiled, baseline = [], []
    for _ in range(rounds):
        for times, f in ((compiled, fn[0]), (baseline, fn[1])):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
    return statistics.median(compiled), statistics.median(baseline)


def cases_for(hr_rgb: np.ndarray, out: np.ndarray) -> dict:
    """name -> (compiled call, baseline call) on one HR image and a network-like float output of it."""
    sr, hr = rgb_to_y(quantize(out, "round")), rgb_to_y(hr_rgb)
    cases = {"quantize (round)": (lambda: quantize(out, "round"), lambda: numpy_quantize(out)),
             "luma (BT.601, 16-235)": (lambda: rgb_to_y(hr_rgb), lambda: numpy_luma(hr_rgb)),
             "MSE over a 4-px border crop": (lambda: np.float64(cropped_mse(sr, hr, 4)),
                                             lambda: np.float64(numpy_mse(shave(sr, 4), shave(hr, 4))))}
    for window in ("gaussian11", "uniform7"):
        ref, numpy_ref = ssim_reference(hr, window=window)[0], numpy_reference(hr, window)
        cases[f"SSIM reference maps ({window})"] = (lambda window=window: ssim_reference(hr, window=window),
                                                     lambda window=window: numpy_reference(hr, window))
        cases[f"SSIM map ({window}, reference given)"] = (
            lambda window=window, ref=ref: ssim_map(sr, hr, window=window, reference=ref),
            lambda window=window, numpy_ref=numpy_ref: numpy_ssim_map(sr, hr, window, numpy_ref))
    ssim_of = ssim_map(sr, hr)
    cases["SSIM map's mean over a 4-px crop"] = (lambda: np.float64(cropped_mean(ssim_of, 4)),
                                                 lambda: np.ascontiguousarray(shave(ssim_of, 4)).mean())
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per measurement (default: 7)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for h, w in ((480, 500), (768, 1024)):
        hr_rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        out = np.clip(hr_rgb / 255.0 + rng.normal(0, 0.02, hr_rgb.shape), 0, 1).astype(np.float32)
        print(f"{w}x{h}:")
        for name, (compiled, baseline) in cases_for(hr_rgb, out).items():
            a, b = compiled(), baseline()
            if isinstance(a, list):  # the reference maps: compare mean, mean squared, variance
                a, b = np.stack([a[0].mu, a[0].mu_sq, a[0].var]), np.stack(b)
            if not same_bits(a, b):
                print(f"  {name}: NOT the same bits as the baseline", file=sys.stderr)
                return 1
            fast, slow = timed((compiled, baseline), args.rounds)
            print(f"  {name:38s} compiled {fast * 1e3:7.2f} ms  numpy/scipy {slow * 1e3:7.2f} ms  "
                  f"ratio {slow / fast:5.1f}x  (same bits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
