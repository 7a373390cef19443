"""The NTIRE efficient-SR challenges' ranking score, as data, and the pure function that computes it.

Since 2024 the NTIRE efficient-SR challenge ranks the entries that pass a PSNR gate by a score relative to a
reference network measured on the same GPU (lower is better; the reference itself scores
0.7·e² + 0.15·e² + 0.15·e² = e² = 7.3891)::

    Score = w_runtime · exp(2 · runtime / runtime_ref) + w_flops · exp(2 · FLOPs / FLOPs_ref)
          + w_params · exp(2 · params / params_ref)

The formulas and their weights are records (:data:`FORMULAS`) with their primary source. Only a formula whose
reference network srbench can run in the same invocation is *computable* here (the 2024 one: RLFN); the 2025 one is
recorded, with its reference's published figures, and marked not computable (its reference, EFDN, is not in srbench).

Scores travel only between entries measured together: same device, runtime, precision and thread count
(:func:`comparable`), which is why a score column always names them (:func:`score_label`).

The PSNR gate is data too (:class:`Gate`): on the challenge's own validation set the published threshold; elsewhere
the reference's own PSNR in the same invocation minus a declared margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from srbench.core.errors import SrbenchError


@dataclass(frozen=True)
class Formula:
    """One challenge's score: weights of the runtime, FLOPs and params terms, the exponent's factor, the reference
    network, the FLOP convention its FLOPs use (:mod:`srbench.models.challenge_counts`), the published reference
    figures and threshold, and whether srbench can compute it (with the reason when not)."""

    name: str
    weights: tuple[float, float, float]  # runtime, FLOPs, params
    factor: float
    reference: str
    flops_convention: str
    published_reference: dict
    psnr_threshold_db: dict
    source: str
    computable: bool
    reason: str = ""


FORMULAS: dict[str, Formula] = {
    "ntire2024": Formula(
        name="ntire2024", weights=(0.7, 0.15, 0.15), factor=2.0, reference="rlfn", flops_convention="fvcore",
        published_reference={"runtime_ms": 13.54, "flops_g": 19.67, "params_m": 0.317,
                             "device": "NVIDIA GeForce RTX 3090"},
        psnr_threshold_db={"DIV2K_LSDIR_valid": 26.90, "DIV2K_LSDIR_test": 26.99},
        source="github.com/Amazingren/NTIRE2024_ESR README at 6404fa4 ('How the Ranking Strategy Works?')",
        computable=True),
    "ntire2025": Formula(
        name="ntire2025", weights=(0.7, 0.15, 0.15), factor=2.0, reference="efdn", flops_convention="fvcore",
        published_reference={"runtime_ms": 16.69, "flops_g": 16.70, "params_m": 0.276,
                             "device": "NVIDIA RTX A6000"},
        psnr_threshold_db={"DIV2K_LSDIR_valid": 26.90, "DIV2K_LSDIR_test": 26.99},
        source="github.com/Amazingren/NTIRE2025_ESR README at 0b5be94 ('How the Ranking Strategy Works?')",
        computable=False,
        reason="its reference network, EFDN (NTIRE 2023), is not in srbench, so it cannot run beside the entries"),
}


@dataclass(frozen=True)
class Figures:
    """What the score reads of one entry: mean runtime (ms), FLOPs (G, the formula's convention), params (M)."""

    runtime_ms: float
    flops_g: float
    params_m: float


def score(entry: Figures, reference: Figures, formula: Formula) -> dict[str, float]:
    """The score terms and their weighted sum: ``{"runtime": .., "flops": .., "params": .., "score": ..}``.

    Pure arithmetic on measured figures; refuses a formula marked not computable and a reference with a zero or
    negative figure (a ratio to it means nothing)."""
    if not formula.computable:
        raise SrbenchError(f"score {formula.name!r} is not computable here: {formula.reason}")
    terms = {}
    for key, mine, ref in (("runtime", entry.runtime_ms, reference.runtime_ms),
                           ("flops", entry.flops_g, reference.flops_g),
                           ("params", entry.params_m, reference.params_m)):
        if not ref > 0:
            raise SrbenchError(f"score {formula.name!r}: the reference's {key} is {ref!r}; it must be positive")
        terms[key] = math.exp(formula.factor * mine / ref)
    w_rt, w_fl, w_pa = formula.weights
    terms["score"] = w_rt * terms["runtime"] + w_fl * terms["flops"] + w_pa * terms["params"]
    return terms


@dataclass(frozen=True)
class Gate:
    """The PSNR an entry must reach to be ranked: ``threshold_db`` when given (the challenge's published value on
    its own set), else the reference's PSNR minus ``margin_db``."""

    margin_db: float = 0.0
    threshold_db: float | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.margin_db, (int, float)) and self.margin_db >= 0):
            raise SrbenchError(f"psnr gate: margin_db={self.margin_db!r} must be a number >= 0")

    def threshold(self, reference_psnr: float) -> float:
        return self.threshold_db if self.threshold_db is not None else reference_psnr - self.margin_db

    def describe(self, reference: str, reference_psnr: float | None = None) -> str:
        if self.threshold_db is not None:
            return f"PSNR >= {self.threshold_db:.2f} dB (published threshold)"
        at = f" = {reference_psnr - self.margin_db:.2f} dB" if reference_psnr is not None else ""
        return f"PSNR >= PSNR({reference}) - {self.margin_db:.2f} dB{at}"


#: The settings two measured runtimes must share for their ratio to mean anything.
COMPARABLE_KEYS = ("device", "runtime", "precision", "threads")


def comparable(a: dict, b: dict) -> list[str]:
    """The settings (of :data:`COMPARABLE_KEYS`) on which two entries' measurements differ; empty when a score
    between them is allowed."""
    return [k for k in COMPARABLE_KEYS if a.get(k) != b.get(k)]


def score_label(formula: Formula, setting: dict) -> str:
    """The score column's header, naming where it was measured, e.g. ``score ntire2024 (CPU, eager fp32, 2
    threads) - not comparable with the challenge's GPU scores``."""
    device = str(setting.get("device", "?"))
    where = f"{device}, {setting.get('runtime', '?')} {setting.get('precision', '?')}"
    if setting.get("threads") is not None and "threads" not in device:  # a CPU's description may already say
        where += f", {setting['threads']} threads"
    note = f" - not comparable with the challenge's {formula.published_reference['device']} scores"
    return f"score {formula.name} ({where}){note}"


def rank(scores: dict[str, float | None]) -> dict[str, int | None]:
    """Competition ranks (1 = lowest score; ties share a rank); entries without a score get None."""
    values = [s for s in scores.values() if s is not None]
    return {k: None if s is None else 1 + sum(v < s for v in values) for k, s in scores.items()}
