"""Latency measurement runs exactly the declared number of forward passes, and reports their median and IQR."""

from __future__ import annotations

import torch

from srbench.eval.latency import lr_size, measure_latency


class CountingModel(torch.nn.Module):
    """Counts its forward calls and the input sizes it saw."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = []

    def forward(self, x, scale):
        self.calls.append(tuple(x.shape[-2:]))
        return x.repeat_interleave(scale, -1).repeat_interleave(scale, -2)


def test_exactly_warmup_plus_repeats_forward_passes():
    model = CountingModel()
    lat = measure_latency(model, 4, torch.device("cpu"), warmup=2, repeats=5, out_hw=(64, 96))
    assert len(model.calls) == 7  # torch.utils.benchmark.Timer.timeit(1) x5 would have made 2 + 15
    assert lat.repeats == 5 and lat.median_ms >= 0 and lat.iqr_ms >= 0
    assert set(model.calls) == {(16, 24)}


def test_lr_size_covers_the_output():
    assert lr_size(3, (720, 1280)) == (240, 427)
    assert lr_size(4, (720, 1280)) == (180, 320)
