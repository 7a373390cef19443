"""Parameter and Mult-Adds counts against the published numbers (CARN paper; ECDN report)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from srbench.models import create_model
from srbench.models.complexity import count_effective_params, count_params, mult_adds
from srbench.models.weights import CATALOGUE

# Ahn et al., ECCV 2018: Mult-Adds in G for a 720p output.
PAPER_MULT_ADDS = {"carn": {2: 222.8, 3: 118.8, 4: 90.9}, "carn_m": {2: 91.2, 3: 46.1, 4: 32.5}}
# ECDN report (ECDN-M counted without its unused c4); CARN/CARN-M/ECDN have no unused module.
EFFECTIVE = {"carn": 1_591_963, "carn_m": 414_811, "ecdn": 694_555, "ecdn_m": 396_955}


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", sorted(PAPER_MULT_ADDS))
def test_mult_adds_match_carn_paper(name, scale):
    expected = PAPER_MULT_ADDS[name][scale]
    assert round(mult_adds(create_model(name), scale) / 1e9, 1) == expected
    assert CATALOGUE[name].metrics["mult_adds"][scale] == expected


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


@pytest.mark.parametrize("name", sorted(EFFECTIVE))
def test_effective_params(name):
    assert count_effective_params(create_model(name)) == EFFECTIVE[name]


def test_effective_params_of_ecdn_m_match_the_report():
    assert CATALOGUE["ecdn_m"].metrics["params"] == 396_955
    # 417,499 in the checkpoint minus c4, a 1x1 conv 320 -> 64 with bias: 64 * 320 + 64 = 20,544
    assert 417_499 - (64 * 320 + 64) == 396_955 == count_effective_params(create_model("ecdn_m"))


@pytest.mark.parametrize("name", sorted(EFFECTIVE))
def test_mean_shift_is_frozen_but_counted(name):
    model = create_model(name)
    shift = [p for m in (model.sub_mean, model.add_mean) for p in m.parameters()]
    assert sum(p.numel() for p in shift) == 24  # two 1x1 convs 3 -> 3 with bias
    assert not any(p.requires_grad for p in shift)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count_params(model) - trainable == 24
