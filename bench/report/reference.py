"""Published reference values for the reports, as the tables use them.

The printed PSNR/SSIM live in one home, :mod:`srbench.models.published` (typed, sourced records, one per model,
dataset and scale); this module groups them per model into :class:`Published` rows and adds what only the reports
use (the CARN paper's parameters and Mult-Adds, from the weights catalogue; the ECDN report's Table 1). The tables
print each row's source beside it ("(published: <source>)"). Nothing else in :mod:`bench.report` holds a number that
did not come from MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from srbench.models import published as printed

ECDN_TABLE1_SOURCE = "ECDN report, Table 1"

SCALES = (2, 3, 4)
#: the output size (height x width, as the ``srbench.measure_out`` tag writes it) of every published Mult-Adds: 720p
PUBLISHED_MEASURE_OUT = "720x1280"
DATASETS = ("Set5", "Set14", "B100", "Urban100")


@dataclass(frozen=True)
class Published:
    """One published model: PSNR/SSIM (Y channel, standard protocol) per (dataset, scale), and its efficiency."""

    name: str                      # as the paper names it
    model: str                     # the srbench model it corresponds to
    weights: str | None            # the released weights it corresponds to (None: no weights, e.g. bicubic)
    source: str
    scores: dict[tuple[str, int], tuple[float, float]]
    params: dict[int, int] = field(default_factory=dict)          # as printed (rounded to thousands)
    mult_adds_g: dict[int, float] = field(default_factory=dict)   # as printed, 720p (1280x720) output
    short_source: str = ""         # what the row label says; the full source goes in the table notes

    @property
    def label(self) -> str:
        return f"{self.name} (published: {self.short_source or self.source})"


def _scores(model: str, source: printed.Source) -> dict[tuple[str, int], tuple[float, float]]:
    """The four standard sets' printed values of ``model`` from ``source`` (srbench.models.published)."""
    return {(r.dataset, r.scale): (r.psnr, r.ssim) for r in printed.published(model, source=source)
            if r.dataset in DATASETS}


BICUBIC_SOURCE = printed.SAFMN_TABLE.cite
BICUBIC = Published(name="Bicubic", model="bicubic", weights=None, source=BICUBIC_SOURCE,
                    short_source="SAFMN paper's table, as printed", scores=_scores("bicubic", printed.SAFMN_TABLE))


def _from_catalogue(name: str, weights: str) -> Published:
    """A CARN-paper row: PSNR/SSIM from srbench.models.published, parameters and Mult-Adds as the weights
    catalogue's record holds them (the paper's Params and MultAdds columns)."""
    from srbench.models.weights import CATALOGUE

    metrics = CATALOGUE[weights].metrics
    return Published(
        name=name, model=CATALOGUE[weights].arch, weights=weights, source=printed.CARN_TABLE.cite,
        short_source="Ahn et al., ECCV 2018", scores=_scores(CATALOGUE[weights].arch, printed.CARN_TABLE),
        params={s: metrics["params"] for s in SCALES}, mult_adds_g=dict(metrics["mult_adds"]))


CARN = _from_catalogue("CARN", "carn")
CARN_M = _from_catalogue("CARN-M", "carn_m")

PUBLISHED: tuple[Published, ...] = (BICUBIC, CARN, CARN_M)

# The ECDN report's Table 1 as printed (shared/reference/mytable.png), by the released weights each row corresponds
# to: (LPIPS score, PSNR score, training time). Sums over Set5 + Set14 + B100 at x4 under the report's own script
# (see calibration.md); CARN_103000 has no released file, so it is listed under "carn_half" for completeness.
ECDN_TABLE1_PRINTED_SOURCE = "ECDN report, Table 1 (as printed)"
ECDN_TABLE1_PRINTED: dict[str, tuple[float, float, str]] = {
    "carn": (35.7, 8875, "fully trained (4 GPU-days)"),
    "carn_m": (36.1, 8854, "fully trained (4 GPU-days)"),
    "carn_half": (36.0, 8852, "1 GPU-day"),
    "carn_m_half": (37.3, 8822, "1 GPU-day"),
    "ecdn": (35.7, 8702, "fully trained (2.5 GPU-days)"),
    "ecdn_m": (36.8, 8814, "fully trained (2.5 GPU-days)"),
    "ecdn_half": (36.8, 8741, "1 GPU-day"),
    "ecdn_m_half": (37.8, 8795, "1 GPU-day"),
}

# Exact parameter counts printed in the ECDN report's Table 1 (by model name).
ECDN_TABLE1_PARAMS: dict[str, int] = {"carn": 1_591_963, "carn_m": 414_811, "ecdn": 694_555, "ecdn_m": 396_955}

# The ECDN report's PSNR script divided images by 255 twice: every image's PSNR is 20 log10(255) dB too high.
ECDN_DOUBLE_SCALE_DB_NOTE = "20·log10(255) = 48.13 dB per image"
# The *_half checkpoints are the ECDN report Table 1's 1-GPU-day rows (calibration.md).
HALF_CHECKPOINT_NOTE = "released checkpoint (the 1-GPU-day row of the ECDN report, Table 1)"

# Tolerance for flagging a measured value against a published one (dB).
FLAG_DB = 0.05
