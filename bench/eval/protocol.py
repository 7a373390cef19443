"""The evaluation protocol as data: a frozen record of every knob that changes a PSNR/SSIM number.

Every knob is declared here, logged to MLflow as a tag (``protocol.<knob>``) and covered by a test. Presets are named so
that a table can say which protocol produced it (pyiqa-style).

Knobs
-----
color          ``y``: luma (see ``luma``), kept as float; ``rgb``: all three channels.
luma           which Y ``color='y'`` measures: ``bt601_limited``: MATLAB's ``rgb2ycbcr``,
               Y = 16 + 65.481 R + 128.553 G + 24.966 B on [0, 1] RGB (16-235); ``bt601_full``: full-range
               Y = 0.299 R + 0.587 G + 0.114 B on 0-255 RGB (0-255: what ``cv2.cvtColor(..., COLOR_RGB2GRAY)`` and
               PIL's ``convert('L')`` compute, without their rounding).
border         pixels cropped from every border before measuring: ``scale`` (= the SR scale) or an integer (0 = none).
quantize       how the network output in [0, 1] becomes 8 bits: ``round`` (clamp, round half to even as numpy does)
               or ``truncate`` (clamp, floor: what the ECDN report's script did); ``float``: clamp only, measured
               on the float values x 255 with no 8-bit step (scripts that never save the SR image).
lr_source      ``file``: the shipped MATLAB-bicubic LR when present, generated (and cached) otherwise;
               ``generate``: always made from HR with the MATLAB-compatible ``imresize``; ``pil``: Pillow's
               ``resize(BICUBIC)``; ``opencv``: ``cv2.resize(INTER_CUBIC)`` (optional package
               ``opencv-python-headless``); ``torch``: ``torch.nn.functional.interpolate(mode='bicubic')``;
               ``torch_aa``: the same with ``antialias=True``. See :mod:`srbench.data.lr_generators`.
lr_modcrop     ``True``: the HR is cropped to a multiple of the scale before the LR is made from it (the benchmark
               files); ``False``: the whole HR is resized to floor(H/s) x floor(W/s) (a ratio H/floor(H/s), not s),
               as scripts that resize the uncropped image do. Only for generated LR (not ``file``).
ssim           ``gaussian11``: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, L 255, valid window, mean of map;
               ``skimage``: scikit-image's default ``structural_similarity``: 7x7 uniform window, sample covariance
               (N / (N - 1)), K1 0.01, K2 0.03, L 255, valid window.
aggregate      how a dataset's PSNR is formed: ``per_image``: the mean of the images' PSNR; ``dataset_mse``: the PSNR
               of the mean of the images' MSE (each image weighted equally). SSIM is always the mean of the images'.
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
tf32           CUDA only: ``False`` (every preset but ``standard_tf32``): float32 convolutions and matrix products run
               in IEEE float32; ``True``: cuDNN and cuBLAS may use TF32 (10-bit mantissa), torch's default for
               convolutions on Ampere and later GPUs, faster and not a float32 number. Set around every forward pass
               of a measurement (:func:`srbench.eval.device.cuda_math`). It does not apply on CPU or MPS, so it is
               left out of their cells' identity (:meth:`Protocol.identity`): CPU cell keys do not depend on it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from srbench.core.constants import BN_MODES, LPIPS_INPUTS, LR_SOURCES
from srbench.core.errors import SrbenchError
from srbench.data.lr_generators import FULL_SUFFIX

COLORS = ("y", "rgb")
LUMAS = ("bt601_limited", "bt601_full")
QUANTIZE = ("round", "truncate", "float")
SSIM_VARIANTS = ("gaussian11", "skimage")
GRAY_MODES = ("replicate", "raw")
AGGREGATES = ("per_image", "dataset_mse")


@dataclass(frozen=True)
class Protocol:
    """Every knob of the evaluation; see the module docstring for what each means."""

    name: str = "standard"
    color: str = "y"
    luma: str = "bt601_limited"
    border: str | int = "scale"
    quantize: str = "round"
    lr_source: str = "file"
    lr_modcrop: bool = True
    ssim: str = "gaussian11"
    aggregate: str = "per_image"
    bn_mode: str = "eval"
    gray: str = "replicate"
    double_scale: bool = False
    lpips_input: str = "minus_one_one"
    tf32: bool = False

    def __post_init__(self) -> None:
        for field, allowed in (("color", COLORS), ("luma", LUMAS), ("quantize", QUANTIZE),
                               ("lr_source", LR_SOURCES), ("ssim", SSIM_VARIANTS), ("aggregate", AGGREGATES),
                               ("bn_mode", BN_MODES), ("gray", GRAY_MODES), ("lpips_input", LPIPS_INPUTS)):
            value = getattr(self, field)
            if value not in allowed:
                raise SrbenchError(f"protocol {self.name!r}: {field}={value!r} is not one of {', '.join(allowed)}")
        if not isinstance(self.tf32, bool):
            raise SrbenchError(f"protocol {self.name!r}: tf32={self.tf32!r} must be true or false")
        if not (self.border == "scale" or (isinstance(self.border, int) and self.border >= 0)):
            raise SrbenchError(f"protocol {self.name!r}: border={self.border!r} must be 'scale' or an integer >= 0")
        if not isinstance(self.lr_modcrop, bool):
            raise SrbenchError(f"protocol {self.name!r}: lr_modcrop={self.lr_modcrop!r} must be true or false")
        if not self.lr_modcrop and self.lr_source == "file":
            raise SrbenchError(f"protocol {self.name!r}: lr_modcrop=false needs a generated LR (lr_source other "
                               "than 'file'): the shipped files were made from the mod-cropped HR")

    @property
    def lr_input(self) -> str:
        """The LR images this protocol feeds the network, as one name: ``<lr_source>`` or ``<lr_source>/full``
        (without mod-cropping the HR); two protocols with one ``lr_input`` share their forward passes."""
        return self.lr_source if self.lr_modcrop else f"{self.lr_source}{FULL_SUFFIX}"

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

    def identity(self, device_type: str | None) -> dict:
        """The knobs that can change a number measured on ``device_type`` (``cuda``, ``cpu``, ``mps``; None: no
        device, scoring images made elsewhere), for a cell's key: every knob, less those of :data:`DEVICE_KNOBS`
        that do not apply there."""
        return {k: v for k, v in self.as_dict().items() if DEVICE_KNOBS.get(k, device_type) == device_type}


#: knobs that act on one device type only (and are left out of other devices' cell identities)
DEVICE_KNOBS = {"tf32": "cuda"}


PRESETS: dict[str, Protocol] = {
    # The standard SR protocol (calibration.md): Y on RGB, crop = scale, rounded output, shipped LR, eval BN.
    "standard": Protocol(),
    # The standard protocol with gray images measured on their own values: reproduces the published bicubic Set14 row.
    "paper_gray": Protocol(name="paper_gray", gray="raw"),
    # The ECDN report's Table 1 scripts: RGB, no border crop, truncated output, images divided by 255 twice, BN in
    # training mode (per-image statistics); its compare.py gave LPIPS [0, 1] images.
    # The standard protocol with TF32 allowed on CUDA (PyTorch's default for convolutions): what an unconfigured
    # GPU run computes; not float32 numbers. Identical to `standard` off CUDA.
    "standard_tf32": Protocol(name="standard_tf32", tf32=True),
    "ecdn_report": Protocol(name="ecdn_report", color="rgb", border=0, quantize="truncate", bn_mode="batch",
                            double_scale=True, lpips_input="zero_one"),
}


def get_protocol(name: str, **overrides) -> Protocol:
    """A named preset, optionally with knobs overridden (e.g. ``bn_mode='batch'``)."""
    if name not in PRESETS:
        raise SrbenchError(f"unknown protocol preset {name!r}; known: {', '.join(PRESETS)}")
    proto = PRESETS[name]
    return proto.with_(**overrides) if overrides else proto
