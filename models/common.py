"""Pieces shared by every learned model: mean shift, 1x1 fusion, sub-pixel upsampler, the global cascade.

All four learned networks (CARN, CARN-M, ECDN, ECDN-M) have the same outer shape, taken from the CARN reference code:
``add_mean(exit(upsample(cascade(entry(sub_mean(x))), s)))``. Only the three cascading blocks differ, so the outer
shape lives here once (:class:`CascadeSR`) and each architecture file supplies its blocks. Module and attribute names
follow the released checkpoints' state_dict keys (``sub_mean.shifter``, ``c1.body.0``, ``upsample.up4.body.3``...),
which is why some names are terse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from srbench.core.errors import SrbenchError

#: DIV2K RGB mean on [0, 1], as used by the CARN code (``sub_mean`` / ``add_mean``).
RGB_MEAN = (0.4488, 0.4371, 0.4040)
#: Scales that have a sub-pixel head (``upsample.up2|up3|up4``).
HEAD_SCALES = (2, 3, 4)
#: Feature width of every learned model.
WIDTH = 64


def as_scales(scales: int | Iterable[int]) -> tuple[int, ...]:
    """Normalise a ``scales`` build argument: an int means a single-scale build, a sequence a multi-scale one."""
    values = (scales,) if isinstance(scales, int) else tuple(scales)
    if not values or len(set(values)) != len(values) or any(s not in HEAD_SCALES for s in values):
        raise SrbenchError(f"scales={scales!r}: expected one of {HEAD_SCALES} or a tuple of distinct ones")
    return values


def check_scale(model: nn.Module, scale: int) -> None:
    """Refuse a call-time scale the model has no head for (a single-scale build has exactly one)."""
    if scale not in model.scales:
        raise SrbenchError(f"{getattr(model, 'arch', type(model).__name__)} was built for scales {model.scales}; "
                           f"cannot run at x{scale}")


class MeanShift(nn.Module):
    """Frozen 1x1 conv adding (or subtracting) the RGB mean.

    A conv rather than a buffer because the checkpoints store it as ``shifter.weight``/``shifter.bias``; its 24
    parameters are frozen (``requires_grad=False``) yet counted in the published parameter totals.
    """

    def __init__(self, mean_rgb: Sequence[float] = RGB_MEAN, *, sub: bool) -> None:
        super().__init__()
        sign = -1.0 if sub else 1.0
        self.shifter = nn.Conv2d(3, 3, 1, 1, 0)
        with torch.no_grad():
            self.shifter.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            self.shifter.bias.copy_(sign * torch.tensor(mean_rgb))
        for p in self.shifter.parameters():
            p.requires_grad = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shifter(x)


class BasicBlock(nn.Module):
    """Conv + ReLU (keys ``body.0``); used as the 1x1 fusion after every concatenation of the cascade."""

    def __init__(self, in_channels: int, out_channels: int, ksize: int = 1, *, groups: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels, out_channels, ksize, 1, ksize // 2, groups=groups),
                                  nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SubPixelHead(nn.Module):
    """One upsampling head: [conv 3x3 (groups) -> ReLU -> PixelShuffle(r)] per stage; x4 is two x2 stages."""

    def __init__(self, n_channels: int, scale: int, *, group: int) -> None:
        super().__init__()
        stages = (2, 2) if scale == 4 else (scale,)
        layers: list[nn.Module] = []
        for r in stages:
            layers += [nn.Conv2d(n_channels, r * r * n_channels, 3, 1, 1, groups=group), nn.ReLU(inplace=True),
                       nn.PixelShuffle(r)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UpsampleBlock(nn.Module):
    """One sub-pixel head per built scale, picked at call time (keys ``up2.*``, ``up3.*``, ``up4.*``).

    A multi-scale build has all three heads (the released checkpoints); a single-scale build has only its own head,
    under the same key, so its weights line up with the multi-scale ones.
    """

    def __init__(self, n_channels: int, *, scales: tuple[int, ...], group: int) -> None:
        super().__init__()
        for s in scales:
            self.add_module(f"up{s}", SubPixelHead(n_channels, s, group=group))

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        return getattr(self, f"up{scale}")(x)


def cascade(x: torch.Tensor, blocks: Sequence[nn.Module], fusions: Sequence[nn.Module],
            between: Callable[[torch.Tensor], torch.Tensor] = lambda o: o) -> torch.Tensor:
    """The CARN cascade: ``c0 = o0 = x``; per stage ``c = cat[c, block(o)]``, ``o = fusion(c)``; returns the last o.

    ``between`` (ECDN-M's up-and-down pass) transforms ``o`` after every stage but the last; the concatenation keeps
    using ``c`` from before it.
    """
    c = o = x
    for k, (block, fusion) in enumerate(zip(blocks, fusions)):
        c = torch.cat([c, block(o)], dim=1)
        o = fusion(c)
        if k < len(blocks) - 1:
            o = between(o)
    return o


class CascadeSR(nn.Module):
    """The shared outer network: mean shift, entry conv, three cascading blocks with 1x1 fusions, upsampler, exit.

    Subclasses pass a factory for the cascading block and may override :meth:`between` (a transform of the features
    between cascade stages). No global skip connection and no clamp: outputs may leave [0, 1].
    """

    def __init__(self, make_block: Callable[[], nn.Module], *, scales: int | Iterable[int], group: int) -> None:
        super().__init__()
        if not isinstance(group, int) or group < 1 or WIDTH % group:
            raise SrbenchError(f"group={group!r}: must be a positive divisor of {WIDTH}")
        self.scales = as_scales(scales)
        self.group = group
        self.sub_mean = MeanShift(sub=True)
        self.add_mean = MeanShift(sub=False)
        self.entry = nn.Conv2d(3, WIDTH, 3, 1, 1)
        self.b1, self.b2, self.b3 = make_block(), make_block(), make_block()
        self.c1 = BasicBlock(2 * WIDTH, WIDTH)
        self.c2 = BasicBlock(3 * WIDTH, WIDTH)
        self.c3 = BasicBlock(4 * WIDTH, WIDTH)
        self.upsample = UpsampleBlock(WIDTH, scales=self.scales, group=group)
        self.exit = nn.Conv2d(WIDTH, 3, 3, 1, 1)

    def between(self, o: torch.Tensor, scale: int) -> torch.Tensor:
        """Transform of the features after cascade stages 1 and 2; the identity here (ECDN-M overrides it)."""
        return o

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        """Super-resolve N×3×h×w RGB in [0, 1] to N×3×(s·h)×(s·w) with the head for ``scale``."""
        check_scale(self, scale)
        x = self.entry(self.sub_mean(x))
        o = cascade(x, (self.b1, self.b2, self.b3), (self.c1, self.c2, self.c3),
                    between=lambda o: self.between(o, scale))
        return self.add_mean(self.exit(self.upsample(o, scale)))
