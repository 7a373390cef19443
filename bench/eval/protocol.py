"""The evaluation protocol as data: a frozen record of every knob that changes a PSNR/SSIM number.

Every knob is declared here, logged to MLflow as a tag (``protocol.<knob>``) and covered by a test. Presets are named so
that a table can say which protocol produced it (pyiqa-style).

Knobs
-----
color          ``y``: BT.601 luma Y = 16 + 65.481 R + 128.553 G + 24.966 B on [0, 1] RGB (16-235), kept as float;
               ``rgb``: all three channels.
border         pixels cropped from every border before measuring: ``scale`` (= the SR scale) or an integer (0 = none).
quantize       how the network output in [0, 1] becomes 8 bits: ``round`` (clamp, round half to even as numpy does)
               or ``truncate`` (clamp, floor: what the ECDN report's script did).
lr_source      ``file``: the shipped MATLAB-bicubic LR when present, generated (and cached) otherwise;
               ``generate``: always made from HR with the MATLAB-compatible ``imresize``.
ssim           ``gaussian11``: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, L 255, valid window, mean of map.
bn_mode        ``eval``: BatchNorm uses running statistics; ``batch``: each image's own statistics (the ECDN authors'
               released outputs were produced this way).
gray           ``replicate``: single-channel images are replicated to RGB and measured like colour ones (Y of a gray
               image is then 16 + 219/255 g); ``raw``: single-channel images are measured on their own gray values
               (no Y transform), which reproduces the published bicubic Set14 row.
double_scale   ``True`` only for the ECDN report's script, which divided images by 255 twice, adding
               20·log10(255) = 48.13 dB to every image's PSNR.
lpips_input    the range the 8-bit images are given to LPIPS in (where an experiment declares ``lpips``):
               ``minus_one_one``: ``x / 127.5 - 1``, LPIPS's documented input; ``zero_one``: ``x / 255``
               (torchvision ``ToTensor()``), what the ECDN report's ``compare.py`` passed to
               ``lpips.LPIPS(net='alex')``.
               LPIPS always sees RGB (a gray image replicated) with the ``border`` crop applied; ``color``,
               ``gray`` and ``double_scale`` do not apply to it (see ``srbench.eval.scoring.lpips_pair``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from srbench.core.constants import BN_MODES, LPIPS_INPUTS, LR_SOURCES
from srbench.core.errors import SrbenchError

COLORS = ("y", "rgb")
QUANTIZE = ("round", "truncate")
SSIM_VARIANTS = ("gaussian11",)
GRAY_MODES = ("replicate", "raw")


@dataclass(frozen=True)
class Protocol:
    """Every knob of the evaluation; see the module docstring for what each means."""

    name: str = "standard"
    color: str = "y"
    border: str | int = "scale"
    quantize: str = "round"
    lr_source: str = "file"
    ssim: str = "gaussian11"
    bn_mode: str = "eval"
    gray: str = "replicate"
    double_scale: bool = False
    lpips_input: str = "minus_one_one"

    def __post_init__(self) -> None:
        for field, allowed in (("color", COLORS), ("quantize", QUANTIZE), ("lr_source", LR_SOURCES),
                               ("ssim", SSIM_VARIANTS), ("bn_mode", BN_MODES), ("gray", GRAY_MODES),
                               ("lpips_input", LPIPS_INPUTS)):
            value = getattr(self, field)
            if value not in allowed:
                raise SrbenchError(f"protocol {self.name!r}: {field}={value!r} is not one of {', '.join(allowed)}")
        if not (self.border == "scale" or (isinstance(self.border, int) and self.border >= 0)):
            raise SrbenchError(f"protocol {self.name!r}: border={self.border!r} must be 'scale' or an integer >= 0")

    def border_for(self, scale: int) -> int:
        """Pixels to crop from each border at this scale."""
        return scale if self.border == "scale" else int(self.border)

    def with_(self, **changes) -> Protocol:
        """A copy with some knobs changed (the name is kept unless given); unknown knobs are an error."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise SrbenchError(f"unknown protocol knob(s): {', '.join(sorted(unknown))}; "
                               f"known: {', '.join(f.name for f in dataclasses.fields(self))}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """Flat dict of every knob, for MLflow tags and JSON output."""
        return dataclasses.asdict(self)


PRESETS: dict[str, Protocol] = {
    # The standard SR protocol (calibration.md): Y on RGB, crop = scale, rounded output, shipped LR, eval BN.
    "standard": Protocol(),
    # The standard protocol with gray images measured on their own values: reproduces the published bicubic Set14 row.
    "paper_gray": Protocol(name="paper_gray", gray="raw"),
    # The ECDN report's Table 1 scripts: RGB, no border crop, truncated output, images divided by 255 twice, BN in
    # training mode (per-image statistics); its compare.py gave LPIPS [0, 1] images.
    "ecdn_report": Protocol(name="ecdn_report", color="rgb", border=0, quantize="truncate", bn_mode="batch",
                            double_scale=True, lpips_input="zero_one"),
}


def get_protocol(name: str, **overrides) -> Protocol:
    """A named preset, optionally with knobs overridden (e.g. ``bn_mode='batch'``)."""
    if name not in PRESETS:
        raise SrbenchError(f"unknown protocol preset {name!r}; known: {', '.join(PRESETS)}")
    proto = PRESETS[name]
    return proto.with_(**overrides) if overrides else proto
