"""Latency measurement runs exactly the declared number of forward passes, and reports their median and IQR: checked
exactly against a fake clock that each forward pass advances by a scripted time."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srbench.eval import latency
from srbench.eval.latency import lr_size


class ScriptedModel(torch.nn.Module):
    """Counts its forward calls and the input sizes it saw; each call advances a fake clock by the next of
    ``durations_ms``, so the timings the measurement reads are known exactly."""

    def __init__(self, durations_ms: list[float]) -> None:
        super().__init__()
        self.calls = []
        self.durations_ms = list(durations_ms)
        self.clock_s = 100.0

    def perf_counter(self) -> float:
        return self.clock_s

    def forward(self, x, scale):
        self.calls.append(tuple(x.shape[-2:]))
        self.clock_s += self.durations_ms[len(self.calls) - 1] / 1e3
        return x.repeat_interleave(scale, -1).repeat_interleave(scale, -2)


def test_exactly_warmup_plus_repeats_forward_passes_and_their_median_and_iqr(monkeypatch):
    # two warm-up calls (900 ms each: must not count), then five timed ones
    model = ScriptedModel([900, 900, 5, 1, 4, 2, 10])
    monkeypatch.setattr(latency, "perf_counter", model.perf_counter)
    lat = latency.measure_latency(model, 4, torch.device("cpu"), warmup=2, repeats=5, out_hw=(64, 96))
    assert len(model.calls) == 7  # torch.utils.benchmark.Timer.timeit(1) x5 would have made 2 + 15
    assert set(model.calls) == {(16, 24)}
    # sorted 1 2 4 5 10: median 4; quartiles by linear interpolation between order statistics (numpy's default
    # percentile, 'inclusive'): Q1 = 2, Q3 = 5, IQR 3 (the 'exclusive' method would give 1.5 and 7.5, IQR 6)
    assert lat.repeats == 5
    assert lat.median_ms == pytest.approx(4.0, abs=1e-9)
    assert lat.iqr_ms == pytest.approx(3.0, abs=1e-9)
    assert lat.median_ms == pytest.approx(np.median([5, 1, 4, 2, 10]), abs=1e-9)
    assert lat.iqr_ms == pytest.approx(np.subtract(*np.percentile([5, 1, 4, 2, 10], [75, 25])), abs=1e-9)


def test_one_repeat_has_no_spread(monkeypatch):
    model = ScriptedModel([3, 7])
    monkeypatch.setattr(latency, "perf_counter", model.perf_counter)
    lat = latency.measure_latency(model, 2, torch.device("cpu"), warmup=1, repeats=1, out_hw=(8, 8))
    assert (lat.median_ms, lat.iqr_ms, lat.repeats) == (pytest.approx(7.0, abs=1e-9), 0.0, 1)


def test_lr_size_covers_the_output():
    assert lr_size(3, (720, 1280)) == (240, 427)
    assert lr_size(4, (720, 1280)) == (180, 320)
