"""How parameters and Mult-Adds are counted: the meta-device count equals a real forward pass, bicubic is free, the
frozen mean shifts count."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from srbench.models import create_model
from srbench.models.complexity import count_effective_params, count_params, mult_adds

# The published counts (CARN paper, ECDN report), per catalogue record: tests/test_catalogue_schema.py.
NETWORKS = ("carn", "carn_m", "ecdn", "ecdn_m")


@pytest.mark.parametrize("name", ["carn_m", "ecdn_m"])
def test_mult_adds_equal_a_real_forward_count(name):
    # the meta-device, area-scaled count must equal FlopCounterMode on a real forward whose LR is 8x8
    model = create_model(name)
    for scale in (2, 3, 4):
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(torch.rand(1, 3, 8, 8), scale)
        assert mult_adds(model, scale, out_hw=(8 * scale, 8 * scale)) == counter.get_total_flops() // 2


def test_bicubic_has_no_cost():
    model = create_model("bicubic")
    assert count_params(model) == 0 and mult_adds(model, 4) == 0 and count_effective_params(model) == 0


@pytest.mark.parametrize("name", NETWORKS)
def test_mean_shift_is_frozen_but_counted(name):
    model = create_model(name)
    shift = [p for m in (model.sub_mean, model.add_mean) for p in m.parameters()]
    assert sum(p.numel() for p in shift) == 24  # two 1x1 convs 3 -> 3 with bias
    assert not any(p.requires_grad for p in shift)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count_params(model) - trainable == 24
