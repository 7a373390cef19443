"""The challenges' complexity counters (models/challenge_counts.py) against independent references: RLFN's public
profile at 3x256x256 under both conventions, and a hand-made network whose counts are worked out here by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srbench.models.challenge_counts import challenge_profile, count_conv_activations, flops_fvcore, flops_ntire2022
from srbench.models.rlfn import RELEASED_X4, RLFN

RLFN_PUBLIC = {"params": 317_218, "activations": 80_045_184, "conv2d": 39, "flops_ntire2022": 19_695_306_752,
               "flops_fvcore": 19_674_859_520}


def test_rlfn_public_profile():
    # NTIRE 2024 ESR results.json (github.com/Amazingren/NTIRE2024_ESR; its history holds both FLOPs values) and the
    # NTIRE 2022 organisers' summary of RLFN: 0.317218 M params, 80.045184 M activations, 39 Conv2d,
    # 19.695306752 G FLOPs (2022 hook counter), 19.67485952 G FLOPs (fvcore).
    assert challenge_profile(RLFN(**RELEASED_X4)) == RLFN_PUBLIC


class Hand(nn.Module):
    """Every rule the two conventions disagree on, in a network small enough to count on paper."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)                              # affine, eval
        self.act = nn.LeakyReLU(0.1)                             # one module, called three times
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=2)     # grouped, called twice
        self.down = nn.Conv2d(8, 4, 3, stride=2)                 # strided, unpadded: 16 -> 7
        self.up = nn.Conv2d(4, 12, 1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):
        a = self.act(self.bn(self.conv1(x)))
        b = self.act(self.conv2(self.act(self.conv2(a))))
        c = F.interpolate(self.down(b), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.shuffle(self.up(F.relu(c) + 1.0))


def test_hand_made_network():
    hw = 16 * 16
    conv1 = 3 * 3 * 3 * 8 * hw            # k² · C_in · C_out per output position
    conv2 = 3 * 3 * 8 * (8 // 2) * hw     # grouped: C_out/groups filters per input channel
    down = 3 * 3 * 8 * 4 * 7 * 7          # (16 - 3) // 2 + 1 = 7
    up = 1 * 1 * 4 * 12 * hw
    macs = conv1 + 2 * conv2 + down + up
    bn = 2 * 8 * hw                       # affine BatchNorm in eval: 2 per element under both conventions
    leaky = 3 * 8 * hw                    # the 2022 counter: each call of the activation module, per output element
    bilinear = 4 * 4 * hw                 # fvcore: 4 per output element of upsample_bilinear2d
    x = torch.zeros(1, 3, 16, 16)
    model = Hand().eval()
    assert count_conv_activations(model, x) == (8 * hw + 2 * 8 * hw + 4 * 49 + 12 * hw, 5)
    assert flops_ntire2022(model, x) == macs + bn + leaky       # functional relu, interpolate, add: free
    assert flops_fvcore(model, x) == macs + bn + bilinear       # activations, add, shuffle: free
    assert challenge_profile(model, input_chw=(3, 16, 16))["flops_fvcore"] == macs + bn + bilinear


class TwoArgs(nn.Module):
    """The harness's interface: ``model(x, scale)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * 4, 3, padding=1)

    def forward(self, x, scale):
        return F.pixel_shuffle(self.conv(x), scale // 2)


def test_scale_argument_and_linear_rules():
    profile = challenge_profile(TwoArgs(), scale=4, input_chw=(3, 8, 8))
    assert profile["flops_fvcore"] == profile["flops_ntire2022"] == 3 * 3 * 3 * 12 * 64
    lin = nn.Linear(5, 7)
    x = torch.zeros(2, 5)
    assert flops_ntire2022(lin, x) == 2 * 5 * 7 == flops_fvcore(lin, x)
    # the 2022 rule reads input.shape[1] and output.shape[1]: on a 3-D input it counts B·N·N, fvcore B·N·in·out
    x3 = torch.zeros(2, 4, 5)
    assert flops_ntire2022(lin, x3) == 2 * 4 * 4
    assert flops_fvcore(lin, x3) == 2 * 4 * 5 * 7


def test_registered_rlfn_through_the_harness_has_the_same_profile():
    # once the field's registry is merged: the zoo adapter (input range, forward(x, scale)) adds no counted work
    import pytest

    from srbench.models import create_model, list_models

    if "rlfn" not in list_models():
        pytest.skip("rlfn is not registered on this branch (the field's registry registers it)")
    assert challenge_profile(create_model("rlfn", scales=4), scale=4) == RLFN_PUBLIC


class DataDependent(nn.Module):
    """Reads a value (impossible on ``meta``): the profile falls back to a CPU pass and counts the same."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return y * 2 if float(y.mean()) > -1e9 else y


def test_data_dependent_network_is_counted_on_cpu():
    profile = challenge_profile(DataDependent(), input_chw=(3, 8, 8))
    assert profile == {"params": 3 * 4 * 9 + 4, "activations": 4 * 64, "conv2d": 1,
                       "flops_ntire2022": 3 * 3 * 3 * 4 * 64, "flops_fvcore": 3 * 3 * 3 * 4 * 64}
