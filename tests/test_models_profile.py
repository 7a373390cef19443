"""``srbench models --json`` shows the challenge profile per model and scale, equal to what a cell logs."""

from __future__ import annotations

import torch

from srbench.commands.models import add_profiles, model_rows
from srbench.eval.cell import CostSettings, measure_cost
from srbench.models import create_model
from srbench.track import schema


def test_models_json_profile_equals_the_cell_figures():
    rows = {r["model"]: r for r in add_profiles([r for r in model_rows() if r["model"] in ("carn_m", "ecdn_m")])}
    for arch, row in rows.items():
        assert row["profile_in"] == "3x256x256"
        for s in (2, 3, 4):
            cost = measure_cost(create_model(arch), s, torch.device("cpu"), CostSettings(latency=False, memory=False))
            assert {k: cost[k] for k in schema.PROFILE} == {k: row[f"{k}_x{s}"] for k in schema.PROFILE}
    # CARN-M, counted by hand: the shared residual block's 3 convolutions count once per call (3 cascading blocks x
    # 3 calls x 3 = 27), each cascading block's 3 fusions (9), the global fusions (3), entry and exit (2), the two
    # mean shifts (1x1 convolutions, 2) and the upsampler: one convolution at x2 and x3, two at x4
    assert [rows["carn_m"][f"conv2d_calls_x{s}"] for s in (2, 3, 4)] == [27 + 9 + 3 + 2 + 2 + u for u in (1, 1, 2)]
