"""The challenge-form runtime (bench/eval/dataset_runtime.py): what is timed, how the mean and median are formed,
and peak memory over the run, on a synthetic dataset in the challenge's layout."""

from __future__ import annotations

import statistics

import pytest
import torch

from srbench.eval.dataset_runtime import NO_MEMORY_REASON, measure_dataset_runtime


class Recorder:
    """Upsamples by repetition and records every call; allocates a 4 MiB scratch tensor per call."""

    def __init__(self) -> None:
        self.shapes: list[tuple] = []

    def __call__(self, x, scale):
        self.shapes.append(tuple(x.shape))
        scratch = torch.ones(1024 * 1024)  # 4 MiB of float32, freed when the call returns
        return x.repeat_interleave(scale, 2).repeat_interleave(scale, 3) * scratch[0]


def test_runs_images_warmup_and_the_two_figures(challenge_folder):
    forward = Recorder()
    run = measure_dataset_runtime(forward, str(challenge_folder), 4, torch.device("cpu"), runs=3, warmup=1)
    assert [len(r) for r in run.times_ms] == [2, 2, 2]         # 3 runs x 2 images, each image timed alone
    assert len(forward.shapes) == 1 + 6 + 2                     # 1 untimed warm-up, 6 timed, one memory pass
    assert set(forward.shapes) == {(1, 3, 12, 11)}              # the LR files as given, full image
    assert run.mean_ms == pytest.approx(statistics.fmean(statistics.fmean(r) for r in run.times_ms))
    assert run.median_ms == pytest.approx(statistics.median([t for r in run.times_ms for t in r]))
    # the peak of live tensors over the memory pass: the 4 MiB scratch plus the small output, nothing more
    assert 4.0 <= run.peak_mem_mb < 4.1
    assert "3 runs x 2 images" in run.form and "1 warm-up" in run.form


def test_no_memory_figure_for_a_runtime_outside_torch(challenge_folder):
    forward = Recorder()
    forward.torch_memory = False
    run = measure_dataset_runtime(forward, str(challenge_folder), 4, torch.device("cpu"), runs=1)
    assert run.peak_mem_mb is None and NO_MEMORY_REASON in run.form
    assert len(forward.shapes) == 2                             # no warm-up by default (the challenge's form)
