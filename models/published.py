"""Published PSNR/SSIM as data: one typed, sourced record per (model, variant, dataset, scale), as printed.

The only home of the quality numbers papers print for the models srbench measures. The weights catalogue
(:mod:`srbench.models.weights`, hence ``srbench models``), the reports (:mod:`srbench.report.reference`,
:mod:`srbench.report.field_table`) and the tests read them from here.

The rule for adding a value (docs/field.md): copy it from a primary source read for the purpose (the paper's table,
or the authors' repository printing that table), name the source (URL and table) in a :class:`Source`, say whether
the printed row is for the exact released weights srbench loads (``for_released_weights``) or for another variant
of the architecture (a challenge file is often not the paper's model), and say when the printing paper is not the
model's own (``reprint``: another paper's comparison table). A value read only in a secondary source (a leaderboard,
a blog) is flagged ``secondary``. A value that could not be found stays absent; :data:`NOT_FOUND` records where
it was looked for. Every value is PSNR (dB) / SSIM on the Y channel of BT.601, border crop = scale, as the papers
state for these tables; SSIM is ``None`` where the table prints "-".
"""

from __future__ import annotations

from dataclasses import dataclass

from srbench.core.errors import SrbenchError

#: datasets in the order the papers print them; Manga109 cannot be mirrored here (users pass their own copy)
DATASETS = ("Set5", "Set14", "B100", "Urban100", "Manga109")


@dataclass(frozen=True)
class Source:
    """Where printed values were read: ``paper`` (authors, venue), ``table`` (as the paper names it), ``url`` (the
    exact page or file read, at a commit where it is a repository file) and ``read`` (how: the table as text, or the
    table's image)."""

    paper: str
    table: str
    url: str
    read: str

    @property
    def cite(self) -> str:
        return f"{self.paper}, {self.table} ({self.url})"


@dataclass(frozen=True)
class PublishedScore:
    """One printed (PSNR, SSIM) for ``model`` (srbench's model or field family name) at (``dataset``, ``scale``).

    ``variant``: the row's name as printed (e.g. "IMDN", "SAFMN"). ``for_released_weights``: True when the row is
    for the file srbench loads for this model and scale; False when it is another variant of the architecture (then
    measured − published is not a reproduction check). ``reprint``: the table is another paper's comparison, not the
    model's own paper. ``secondary``: read in a secondary source only (never the case for a record without a note).
    """

    model: str
    variant: str
    dataset: str
    scale: int
    psnr: float
    ssim: float | None
    source: Source
    for_released_weights: bool
    reprint: bool = False
    secondary: bool = False
    note: str = ""

    def validate(self) -> None:
        """Raise :class:`SrbenchError` when the record is malformed or a value is out of the plausible range."""
        where = f"published {self.model} {self.dataset} x{self.scale}"
        if self.dataset not in DATASETS or self.scale not in (2, 3, 4):
            raise SrbenchError(f"{where}: unknown dataset or scale")
        if not (self.source.paper and self.source.table and self.source.url.startswith("https://")):
            raise SrbenchError(f"{where}: a source needs its paper, table and URL")
        if not 20.0 <= self.psnr <= 45.0:
            raise SrbenchError(f"{where}: PSNR {self.psnr} outside 20-45 dB")
        if self.ssim is not None and not 0.5 <= self.ssim <= 1.0:
            raise SrbenchError(f"{where}: SSIM {self.ssim} outside 0.5-1")
        if self.secondary and not self.note:
            raise SrbenchError(f"{where}: a secondary value needs a note saying where it was read")


CARN_TABLE = Source(
    paper="Ahn, Kang & Sohn, ECCV 2018 (CARN)", table="quantitative results table (Params, MultAdds, 4 sets)",
    url="https://github.com/nmhkahn/CARN-pytorch/blob/40d3514f81cccd680d846cd5ab07af35f2c8e0e2/assets/table.png",
    read="the table's image in the authors' repository README")
SAFMN_TABLE = Source(
    paper="Sun et al., ICCV 2023 (SAFMN)", table="efficient SR comparison table (x2/x3/x4, 5 sets)",
    url="https://github.com/sunny2109/SAFMN/blob/68c2182e4f8829a979886b0a1cab8f269f91b321/figs/efficient_sr.png",
    read="the table's image in the authors' repository README ('Efficient SR Results')")
IMDN_TABLE = Source(
    paper="Hui et al., ACM MM 2019 (IMDN)", table="average PSNR/SSIM table, x2 part (5 sets)",
    url="https://github.com/Zheng222/IMDN/blob/8f158e6a5ac9db6e5857d9159fd4a6c4214da574/images/psnr_ssim.png",
    read="the table's image in the authors' repository README ('PSNR & SSIM'; only its x2 rows are shown)")

#: models whose papers were looked for in this session without finding a printed table that could be read (the
#: paper's table is only in its PDF, which the sources available here did not hold); their values stay absent
NOT_FOUND: dict[str, str] = {
    "rfdn": "njulj/RFDN README (no table); arXiv 2009.11551 pages hold only the abstract",
    "rlfn": "fyan111/RLFN README (no table); arXiv 2205.07514 not found as text",
    "fmen": "NJU-Jet/FMEN README (no table)",
    "bsrn": "xiaom233/BSRN README (no table)",
    "span": "hongyuanyu/SPAN README (a latency/PSNR figure, no table); arXiv 2311.12770 pages hold only the abstract",
    "imdn_ntire": "NTIRE 2022 ESR reports DIV2K validation PSNR only",
}


def _rows(model: str, variant: str, scale: int, source: Source, values: dict[str, tuple[float, float | None]], *,
          for_released_weights: bool, reprint: bool = False, note: str = "") -> list[PublishedScore]:
    return [PublishedScore(model, variant, ds, scale, psnr, ssim, source, for_released_weights, reprint, note=note)
            for ds, (psnr, ssim) in values.items()]


def _carn(model: str, variant: str, by_scale: dict[int, tuple]) -> list[PublishedScore]:
    """A CARN table row per scale: (Set5, Set14, B100, Urban100) pairs."""
    return [r for s, row in by_scale.items()
            for r in _rows(model, variant, s, CARN_TABLE, dict(zip(DATASETS[:4], row)), for_released_weights=True)]


def _safmn_table(model: str, variant: str, by_scale: dict[int, tuple], *, for_released_weights: bool,
                 reprint: bool, note: str = "") -> list[PublishedScore]:
    """A SAFMN-table row per scale: (Set5, Set14, B100, Urban100, Manga109) pairs; None where it prints '-'."""
    return [r for s, row in by_scale.items()
            for r in _rows(model, variant, s, SAFMN_TABLE, {d: v for d, v in zip(DATASETS, row) if v is not None},
                           for_released_weights=for_released_weights, reprint=reprint, note=note)]


PUBLISHED: tuple[PublishedScore, ...] = (
    *_carn("carn", "CARN (ours)", {
        2: ((37.76, 0.9590), (33.52, 0.9166), (32.09, 0.8978), (31.92, 0.9256)),
        3: ((34.29, 0.9255), (30.29, 0.8407), (29.06, 0.8034), (28.06, 0.8493)),
        4: ((32.13, 0.8937), (28.60, 0.7806), (27.58, 0.7349), (26.07, 0.7837))}),
    *_carn("carn_m", "CARN-M (ours)", {
        2: ((37.53, 0.9583), (33.26, 0.9141), (31.92, 0.8960), (31.23, 0.9193)),
        3: ((33.99, 0.9236), (30.08, 0.8367), (28.91, 0.8000), (27.55, 0.8385)),
        4: ((31.92, 0.8903), (28.42, 0.7762), (27.44, 0.7304), (25.62, 0.7694))}),
    # CARN's paper prints no Manga109; the IMDN paper's x2 table does (its own evaluation of CARN's released model)
    *_rows("carn", "CARN [2]", 2, IMDN_TABLE, {"Manga109": (38.36, 0.9765)}, for_released_weights=True,
           reprint=True),
    # bicubic: the SAFMN table (the IMDN table's x2 bicubic row prints the same five pairs)
    *_safmn_table("bicubic", "Bicubic", {
        2: ((33.66, 0.9299), (30.24, 0.8688), (29.56, 0.8431), (26.88, 0.8403), (30.80, 0.9339)),
        3: ((30.39, 0.8682), (27.55, 0.7742), (27.21, 0.7385), (24.46, 0.7349), (26.95, 0.8556)),
        4: ((28.42, 0.8104), (26.00, 0.7027), (25.96, 0.6675), (23.14, 0.6577), (24.89, 0.7866))},
        for_released_weights=True, reprint=True),
    # IMDN: its own paper's x2 row (the authors' README image); x3/x4 as the SAFMN table reprints them (the IMDN
    # paper's x3/x4 rows were not readable here). The released IMDN_x{2,3,4}.pth are the paper's models.
    *_rows("imdn", "IMDN (Ours)", 2, IMDN_TABLE, {
        "Set5": (38.00, 0.9605), "Set14": (33.63, 0.9177), "B100": (32.19, 0.8996), "Urban100": (32.17, 0.9283),
        "Manga109": (38.88, 0.9774)}, for_released_weights=True),
    *_safmn_table("imdn", "IMDN [19]", {
        3: ((34.36, 0.9270), (30.32, 0.8417), (29.09, 0.8046), (28.17, 0.8519), (33.61, 0.9445)),
        4: ((32.21, 0.8948), (28.58, 0.7811), (27.56, 0.7353), (26.04, 0.7838), (30.45, 0.9075))},
        for_released_weights=True, reprint=True),
    # SAFMN's paper model (240K parameters at x4) is not the NTIRE 2023 challenge file srbench loads
    *_safmn_table("safmn", "SAFMN (Ours)", {
        2: ((38.00, 0.9605), (33.54, 0.9177), (32.16, 0.8995), (31.84, 0.9256), (38.71, 0.9771)),
        3: ((34.34, 0.9267), (30.33, 0.8418), (29.08, 0.8048), (27.95, 0.8474), (33.52, 0.9437)),
        4: ((32.18, 0.8948), (28.60, 0.7813), (27.58, 0.7359), (25.97, 0.7809), (30.43, 0.9063))},
        for_released_weights=False, reprint=False,
        note="the paper's SAFMN (240K parameters at x4); srbench loads the NTIRE 2023 ESR challenge file"),
)


def published(model: str, *, scale: int | None = None, dataset: str | None = None,
              source: Source | None = None) -> list[PublishedScore]:
    """The records of ``model``, optionally of one scale, dataset or source, in :data:`PUBLISHED` order."""
    return [r for r in PUBLISHED if r.model == model and (scale is None or r.scale == scale)
            and (dataset is None or r.dataset == dataset) and (source is None or r.source == source)]


def lookup(model: str, dataset: str, scale: int) -> PublishedScore | None:
    """The record to compare a measurement of (``model``, ``dataset``, ``scale``) with: one printed for the released
    weights before one for another variant, the model's own paper before a reprint; None when none was found."""
    rows = published(model, scale=scale, dataset=dataset)
    return min(rows, key=lambda r: (not r.for_released_weights, r.reprint), default=None)


def grid(model: str, source: Source) -> dict[str, dict[int, tuple[float, float | None]]]:
    """``{dataset: {scale: (psnr, ssim)}}`` of one model from one source (the shape the weights catalogue holds)."""
    out: dict[str, dict[int, tuple[float, float | None]]] = {}
    for r in published(model, source=source):
        out.setdefault(r.dataset, {})[r.scale] = (r.psnr, r.ssim)
    return out


def validate_all() -> None:
    """Validate every record, and that no (model, variant, dataset, scale, source) appears twice."""
    seen = set()
    for r in PUBLISHED:
        r.validate()
        key = (r.model, r.variant, r.dataset, r.scale, r.source)
        if key in seen:
            raise SrbenchError(f"published {r.model} {r.dataset} x{r.scale}: recorded twice from {r.source.paper}")
        seen.add(key)
