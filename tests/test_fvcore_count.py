"""fvcore's convention (models/fvcore_count.py): the fast path (Python calls on ``meta``) gives the numbers of the
slow path (fvcore's walk over a torch.jit trace) on every rule, and hand-computed values for the rules themselves."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srbench.models import create_model
from srbench.models.fvcore_count import flops_fvcore, flops_fvcore_traced


class EveryRule(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.deconv = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.bn = nn.BatchNorm2d(8)
        self.gn = nn.GroupNorm(2, 8)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.ln = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 6)
        self.pool = nn.AdaptiveAvgPool2d(2)

    def forward(self, x):
        a = self.inorm(self.gn(self.bn(self.conv(x))))                       # 1x8x8x8
        tokens = self.ln(a.flatten(2).transpose(1, 2))                         # 1x64x8
        attn = tokens @ tokens.transpose(1, 2)                                 # matmul 1x64x64
        mixed = torch.bmm(attn, tokens) + torch.einsum("bnc,bmc->bnm", tokens, tokens) @ tokens
        feats = self.fc(mixed)                                                 # linear on 3-D
        up = F.interpolate(a, scale_factor=2, mode="bilinear", align_corners=False)
        near = F.interpolate(a, scale_factor=2, mode="nearest")
        area = F.interpolate(up, size=(4, 4), mode="area")
        grid = torch.zeros(1, 4, 4, 2)
        sampled = F.grid_sample(a, grid, align_corners=False)
        out = self.deconv(a).mean() + self.pool(up).mean() + feats.mean() + near.mean() + area.mean() + sampled.mean()
        return out + torch.addmm(torch.zeros(2, 3), torch.ones(2, 5), torch.ones(5, 3)).mean()


def test_fast_path_equals_the_trace_on_every_rule():
    model = EveryRule().eval()
    x = torch.zeros(1, 3, 8, 8)
    traced = flops_fvcore_traced(model, x)
    assert flops_fvcore(model, x) == traced
    model.train()  # batch norm in training counts like the other norms, in both paths
    assert flops_fvcore(model, x) == flops_fvcore_traced(model, x) != traced


def test_hand_counted_rules():
    x = torch.zeros(1, 3, 8, 8)
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert flops_fvcore(conv, x) == 3 * 3 * 3 * 8 * 64                      # bias free
    deconv = nn.ConvTranspose2d(3, 4, 2, stride=2)
    assert flops_fvcore(deconv, x) == 3 * 4 * 2 * 2 * 64                    # counted at the input positions
    up = nn.Upsample(scale_factor=2, mode="bilinear")
    assert flops_fvcore(up, x) == 4 * 3 * 16 * 16
    assert flops_fvcore(nn.Upsample(scale_factor=2, mode="bicubic"), x) == 0
    assert flops_fvcore(nn.Sequential(nn.ReLU(), nn.PixelShuffle(1), nn.Sigmoid()), x) == 0
    ln = nn.LayerNorm(8)
    assert flops_fvcore(ln, x) == 5 * 3 * 8 * 8


@pytest.mark.parametrize(("name", "scale"), [("carn_m", 4), ("ecdn_m", 3), ("ecdn", 2)])
def test_fast_path_equals_the_trace_on_srbench_models(name, scale):
    model = create_model(name)
    x = torch.zeros(1, 3, 24, 20)
    fast = flops_fvcore(copy.deepcopy(model).to("meta"), x.to("meta"), scale)
    assert fast == flops_fvcore_traced(model, x, scale) > 0


def test_fvcore_itself_when_installed():
    fvcore = pytest.importorskip("fvcore.nn")
    model = EveryRule().eval()
    x = torch.zeros(1, 3, 8, 8)
    assert flops_fvcore(model, x) == fvcore.FlopCountAnalysis(model, x).total()
