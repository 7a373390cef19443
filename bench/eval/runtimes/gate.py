"""The fidelity gate: before a runtime's numbers are used, its 8-bit output on a fixed probe image is compared with
eager's; a PSNR-vs-HR difference above :data:`GATE_TOLERANCE_DB` refuses it.

:func:`compare_outputs` is the pure verdict on two 8-bit outputs; :func:`fidelity_gate` runs both runtimes on the
probe LR, quantizes as the protocol does and compares. Without an HR probe the gate compares the outputs only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from srbench.core.errors import SrbenchError
from srbench.eval.evaluate import super_resolve
from srbench.eval.metrics import psnr
from srbench.eval.protocol import Protocol
from srbench.eval.runtimes.runner import Runner, RuntimeDeclined, first_line
from srbench.eval.scoring import score_pair

#: The fidelity gate's tolerance on |PSNR_candidate - PSNR_eager| against HR on the probe image.
GATE_TOLERANCE_DB = 0.001
#: Without an HR probe the gate can only compare outputs: it then needs PSNR(candidate vs eager) >= this. 80 dB is a
#: mean squared difference of 6.5e-4 levels², e.g. 0.065 % of the values one level apart; measured exports here
#: differ in about 3e-5 of the values (~93 dB).
GATE_MIN_PSNR_VS_REFERENCE_DB = 80.0


@dataclass(frozen=True)
class GateResult:
    """The fidelity gate's verdict on one runtime at one scale, against the reference (eager) on the probe image.

    ``max_abs_diff``: largest difference of the 8-bit outputs (levels); ``changed_fraction``: share of output values
    that differ; ``psnr_vs_reference``: PSNR of the candidate's 8-bit output against the reference's (inf when
    identical); ``reference_psnr``/``candidate_psnr``: PSNR against HR under the cell's protocol (None without HR);
    ``delta_db``: candidate minus reference. ``note`` is a one-line summary for the log.
    """

    candidate: str
    reference: str
    scale: int
    passed: bool
    max_abs_diff: int
    changed_fraction: float
    psnr_vs_reference: float
    reference_psnr: float | None
    candidate_psnr: float | None
    delta_db: float | None
    tolerance_db: float
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


def compare_outputs(reference_u8: np.ndarray, candidate_u8: np.ndarray, hr_u8: np.ndarray | None = None, *,
                    scale: int, protocol: Protocol | None = None, gray: bool = False, candidate: str = "candidate",
                    reference: str = "eager", tolerance_db: float = GATE_TOLERANCE_DB,
                    min_psnr_vs_reference_db: float = GATE_MIN_PSNR_VS_REFERENCE_DB) -> GateResult:
    """The gate on two 8-bit outputs of the same probe (pure): passes when the PSNR against HR moves by at most
    ``tolerance_db``; without HR, when PSNR(candidate vs reference) >= ``min_psnr_vs_reference_db``."""
    protocol = protocol or Protocol()
    if reference_u8.shape != candidate_u8.shape:
        note = (f"{candidate} x{scale}: refused by the fidelity gate: output {candidate_u8.shape} differs in size "
                f"from {reference}'s {reference_u8.shape}")
        return GateResult(candidate, reference, scale, False, 255, 1.0, 0.0, None, None, None, tolerance_db, note)
    diff = np.abs(reference_u8.astype(np.int16) - candidate_u8.astype(np.int16))
    max_abs = int(diff.max()) if diff.size else 0
    changed = float(np.count_nonzero(diff)) / max(diff.size, 1)
    vs_ref = math.inf if max_abs == 0 else float(psnr(candidate_u8.astype(np.float64),
                                                      reference_u8.astype(np.float64), data_range=255.0))
    ref_psnr = cand_psnr = delta = None
    if hr_u8 is not None:
        ref_psnr = score_pair(reference_u8, hr_u8, scale=scale, protocol=protocol, gray=gray)[0]
        cand_psnr = score_pair(candidate_u8, hr_u8, scale=scale, protocol=protocol, gray=gray)[0]
        delta = 0.0 if max_abs == 0 else cand_psnr - ref_psnr  # identical outputs: exactly 0 (inf - inf aside)
        passed = abs(delta) <= tolerance_db
        measure = (f"probe PSNR {cand_psnr:.4f} dB vs {reference} {ref_psnr:.4f} dB "
                   f"(difference {delta:+.5f}, tolerance {tolerance_db})")
    else:
        passed = vs_ref >= min_psnr_vs_reference_db
        measure = f"PSNR vs {reference}'s output {vs_ref:.1f} dB (needs >= {min_psnr_vs_reference_db}; no HR)"
    verdict = "passes the fidelity gate" if passed else "refused by the fidelity gate"
    note = (f"{candidate} x{scale}: {verdict}: {measure}; max pixel difference {max_abs}, "
            f"{changed:.1e} of values differ")
    return GateResult(candidate, reference, scale, passed, max_abs, changed, vs_ref, ref_psnr, cand_psnr, delta,
                      tolerance_db, note)


def probe_output(runner: Callable, lr_u8: np.ndarray, scale: int, protocol: Protocol,
                 device: torch.device) -> np.ndarray:
    """``runner``'s 8-bit output on the probe LR, quantized as ``protocol`` says."""
    return super_resolve(runner, lr_u8, scale, protocol, device)[0]


def fidelity_gate(reference: Runner, candidate: Runner, probe_lr_u8: np.ndarray, hr_u8: np.ndarray | None = None,
                  *, protocol: Protocol | None = None, gray: bool = False, tolerance_db: float = GATE_TOLERANCE_DB,
                  reference_u8: np.ndarray | None = None) -> GateResult:
    """Run both runners on the probe LR, quantize as the protocol does (``round`` by default) and compare.

    ``hr_u8``: the probe's HR (cropped to a multiple of the scale, as ``load_samples`` gives it); the gate then
    compares PSNR against HR (the issue's criterion). ``reference_u8``: the reference's 8-bit output when already
    computed (auto selection reuses it for every candidate).
    """
    protocol = protocol or Protocol()
    if reference.scale != candidate.scale:
        raise SrbenchError(f"fidelity gate: reference is x{reference.scale}, candidate x{candidate.scale}")
    scale = candidate.scale
    if reference_u8 is None:
        reference_u8 = probe_output(reference, probe_lr_u8, scale, protocol, reference.device)
    try:
        candidate_u8 = probe_output(candidate, probe_lr_u8, scale, protocol, candidate.device)
    except SrbenchError:
        raise
    except Exception as exc:  # the runtime failed on the probe: it cannot be used for this model
        raise RuntimeDeclined(candidate.name, f"failed on the probe image ({first_line(exc)})") from exc
    return compare_outputs(reference_u8, candidate_u8, hr_u8, scale=scale, protocol=protocol, gray=gray,
                           candidate=candidate.name, reference=reference.name, tolerance_db=tolerance_db)
