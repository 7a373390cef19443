"""Every metric name a cell run logs, built and parsed here only.

Per dataset (``<id>`` is the dataset's id, see :func:`srbench.data.datasets.dataset_id`):
``psnr_<color>.<id>``, ``ssim_<color>.<id>`` (``color`` is the protocol's: ``y`` or ``rgb``), ``lpips.<id>`` (where
LPIPS is declared), ``n_images.<id>``, ``forward_s.<id>`` (seconds in forward passes).

Per cell, the complexity figures (one definition each, see :mod:`srbench.models.complexity`):
``params`` (every parameter), ``params_effective`` (parameters that some forward pass at any of the model's scales
uses, all heads: the ECDN report's count, 396,955 for ECDN-M), ``mult_adds_g`` (G multiply-accumulates at the run's
output size, tag ``srbench.measure_out``, height x width, e.g. ``720x1280``), ``latency_ms`` / ``latency_iqr_ms``
(median and IQR of the timed forward passes at that size) and ``peak_mem_mb`` (MiB, 2**20 bytes: the most memory
the live tensors of one forward pass at that size occupy at once, see :mod:`srbench.eval.memory`).
Where several scales are shown side by side (``srbench models``, the paper table's CSV) a figure at one scale is
named with it (:func:`at_scale`): ``params_x4`` (parameters a forward pass at x4 uses: 276,315 for ECDN-M),
``mult_adds_g_x4``. Every label names its unit and, for Mult-Adds, latency and memory, the output size
(:func:`measure_out_label`).

The efficient-SR challenges' profile (:mod:`srbench.models.challenge_counts`) at the LR input the tag
``srbench.profile_in`` names (``CxHxW``, default ``3x256x256``): ``activations_m`` (M elements output by every
convolution call), ``conv2d_calls`` (convolution calls), ``flops_g_ntire2022`` and ``flops_g_fvcore`` (G FLOPs under
each counting convention: the NTIRE 2022 organisers' hook counter, fvcore's FlopCountAnalysis). Where the challenge
runtime is declared (``measure: {dataset_runs: N}``, :mod:`srbench.eval.dataset_runtime`): ``runtime_mean_ms`` and
``runtime_median_ms`` (full-image forward time over a dataset's LR images as given) and ``runtime_peak_mem_mb``
(MiB over that whole run; absent where the runtime has no honest figure), described by the tag
``srbench.runtime_form``.

Runs logged before these names were fixed use the same keys; older runs without ``srbench.measure_out`` were all
measured at 720x1280, which is what readers assume for them (:data:`LEGACY_MEASURE_OUT`).
"""

from __future__ import annotations

import re

from srbench.track import tags as T

PER_DATASET = ("psnr", "ssim", "lpips", "n_images", "forward_s")
COLORED = ("psnr", "ssim")

PARAMS = "params"
PARAMS_EFFECTIVE = "params_effective"
MULT_ADDS = "mult_adds_g"
LATENCY = "latency_ms"
LATENCY_IQR = "latency_iqr_ms"
PEAK_MEM = "peak_mem_mb"
#: on the invocation's run: seconds between cell runs spent choosing runtimes (``auto``'s timed probes, with the
#: exports and compilations they make; a cached choice costs nothing) and preparing the chosen ones (loading or
#: exporting their graphs): on a fresh clone, one-time work that ``scripts/bench_overhead.py --from-store`` reports
#: apart from the harness
CHOOSE_S = "between_cells.choose_runtime_s"
PREPARE_S = "between_cells.prepare_runtime_s"
#: on the invocation's run: seconds before the first cell spent making the inputs ready (Urban100's LR images
#: generated, decoded copies written: :mod:`srbench.data.inputs`): a fresh clone's one-time work, reported apart
INPUTS_S = "between_cells.prepare_inputs_s"
COST = (PARAMS, PARAMS_EFFECTIVE, MULT_ADDS, LATENCY, LATENCY_IQR, PEAK_MEM)

ACTIVATIONS = "activations_m"
CONV2D = "conv2d_calls"
#: FLOP convention (srbench.models.challenge_counts.CONVENTIONS) -> metric name, unit G
FLOPS = {"ntire2022": "flops_g_ntire2022", "fvcore": "flops_g_fvcore"}
PROFILE = (ACTIVATIONS, CONV2D, *FLOPS.values())
PROFILE_IN_TAG = T.PROFILE_IN
RUNTIME_MEAN = "runtime_mean_ms"
RUNTIME_MEDIAN = "runtime_median_ms"
RUNTIME_PEAK_MEM = "runtime_peak_mem_mb"
RUNTIME_FORM_TAG = T.RUNTIME_FORM
#: A declared challenge score, on the invocation's parent run (srbench.track.benchmark.score_tags)
SCORE_FORMULA_TAG = T.SCORE_FORMULA
SCORE_REFERENCE_TAG = T.SCORE_REFERENCE
SCORE_DATASET_TAG = T.SCORE_DATASET
SCORE_MARGIN_TAG = T.SCORE_MARGIN
SCORE_THRESHOLD_TAG = T.SCORE_THRESHOLD

MEASURE_OUT_TAG = T.MEASURE_OUT
#: what timed a cell's latency: ``cuda_events`` (GPU work) or ``wall`` (CPU, or host work such as bicubic's numpy)
LATENCY_CLOCK_TAG = T.LATENCY_CLOCK
#: The cell runs whose forward passes or latency/memory a cell reused (srbench.eval.shared_passes), comma-separated.
SHARED_FROM_TAG = T.SHARED_FROM
#: How the model was run, as its row shows it: ``+`` (self-ensemble), `` [tile S/N]``, or empty (see
#: :mod:`srbench.eval.inference`); the report appends it to the model's name, so these rows never merge with the plain
#: model's.
INFERENCE_TAG = T.INFERENCE
#: The range the network takes its input in (``1`` or ``255``; the harness converts from [0, 1]: srbench.models.zoo).
INPUT_RANGE_TAG = T.INPUT_RANGE
LEGACY_MEASURE_OUT = "720x1280"

_DATASET_METRIC = re.compile(r"^(psnr|ssim|lpips|n_images|forward_s)(?:_(\w+))?\.(.+)$")


def dataset_metric(what: str, dataset: str, color: str | None = None) -> str:
    """The metric key of ``what`` (one of PER_DATASET) on ``dataset``; PSNR and SSIM need the protocol's colour."""
    if what not in PER_DATASET:
        raise ValueError(f"{what!r} is not a per-dataset metric ({', '.join(PER_DATASET)})")
    if what in COLORED:
        if not color:
            raise ValueError(f"{what} needs the protocol's colour")
        return f"{what}_{color}.{dataset}"
    return f"{what}.{dataset}"


def parse_dataset_metric(key: str) -> tuple[str, str | None, str] | None:
    """``psnr_y.Set5`` -> ("psnr", "y", "Set5"); ``lpips.Set5`` -> ("lpips", None, "Set5"); other keys -> None."""
    m = _DATASET_METRIC.match(key)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def find_dataset_metric(metrics: dict, what: str, dataset: str) -> str | None:
    """The key of ``what`` on ``dataset`` among ``metrics`` whatever its colour, or None."""
    for key in metrics:
        parsed = parse_dataset_metric(key)
        if parsed and parsed[0] == what and parsed[2] == dataset:
            return key
    return None


def at_scale(name: str, scale: int) -> str:
    """The name of figure ``name`` at one scale, where several scales are shown: ``params_x4``, ``mult_adds_g_x2``."""
    return f"{name}_x{scale}"


def measure_out_label(tags: dict) -> str:
    """The output size a run's Mult-Adds and latency were measured at, as ``HxW``."""
    return tags.get(MEASURE_OUT_TAG) or LEGACY_MEASURE_OUT


# --------------------------------------------------------------------------------------------- visual-comparison crops
# For every crop an experiment declares (``crops:``, image and box at a scale), each cell run of that scale logs
#   the SR image:     artifact ``crops/<id>/<image>_x<scale>.png`` (the 8-bit output, as measured)
#   the HR image:     artifact ``crops/<id>/hr/<image>_x<scale>.png`` (cropped to a multiple of the scale, as measured;
#                     gray images replicated to RGB), so the report never reads the data store
#   the box's scores: metrics ``crop.psnr_y.<id>.<image>.<top>_<left>_<h>_<w>`` and ``crop.ssim_y...`` (PSNR / SSIM on
#                     the Y channel of the box, no border crop; SSIM only for boxes of at least 11x11 pixels)
# (srbench.track.crops). Runs logged before these existed have the SR image only.
CROP_METRICS = ("psnr", "ssim")
_CROP_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def crop_artifact(dataset: str, image: str, scale: int) -> str:
    """The artifact path of the SR image a cell logged for a declared crop."""
    return f"crops/{dataset}/{image}_x{scale}.png"


def crop_hr_artifact(dataset: str, image: str, scale: int) -> str:
    """The artifact path of the HR image (as measured at ``scale``) a cell logged beside its SR crop image."""
    return f"crops/{dataset}/hr/{image}_x{scale}.png"


def crop_metric(what: str, dataset: str, image: str, box) -> str:
    """The metric key of ``what`` (psnr or ssim, on Y) over one crop box (top, left, h, w) of an image; characters a
    metric name cannot hold are written ``_``."""
    if what not in CROP_METRICS:
        raise ValueError(f"{what!r} is not a crop metric ({', '.join(CROP_METRICS)})")
    top, left, h, w = (int(v) for v in box)
    return f"crop.{what}_y.{_CROP_UNSAFE.sub('_', dataset)}.{_CROP_UNSAFE.sub('_', image)}.{top}_{left}_{h}_{w}"
