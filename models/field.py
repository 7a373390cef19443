"""The field: released efficient-SR models of other authors ("zoo" models), as data.

One :class:`Family` per model name (``imdn``, ``rfdn``, ...): the network class (one file per architecture in this
package, written for srbench from the public code), the input range its released weights were trained on, and one
:class:`srbench.models.records.WeightsRecord` per released file. A family is **single-scale**: each file holds one
network for one scale (IMDN has three files, x2/x3/x4; the NTIRE challenge files are x4 only), so the model name
resolves its weights per scale (:func:`release`). Records are named ``<family>_x<scale>``; their files live in the
store under ``weights/zoo/`` (fetched by ``srbench data`` from ``data/manifests/zoo.tsv``).

Every number here is checked by a test: ``params``, ``params_effective`` and ``mult_adds_g`` are recounted from the
network by ``tests/test_catalogue_schema.py``; sha256/bytes/git blob sha1 against the zoo manifest; the printed
parameter count (``metrics["params"]``, with ``metrics["params_source"]``) against the counted one. The harness's
adapter (range conversion, ``forward(x, scale)``) and the registration live in :mod:`srbench.models.zoo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from torch import nn

from srbench.models import bsrn, fmen, imdn, imdn_ntire, published, rfdn, rlfn, safmn, span
from srbench.models.records import WeightsRecord

NTIRE22 = ("ofsoundof/NTIRE2022_ESR", "e95ba4a4916bb13d6348f7ee172827e2452e8a31")
#: the NTIRE 2022 ESR results table, printed in the challenge report (Li et al., CVPRW 2022, Table 1) and as
#: ``figs/results.png`` of the challenge repository at the commit above; parameters in M to three decimals
NTIRE22_TABLE = "NTIRE 2022 ESR challenge results table (Li et al., CVPRW 2022; figs/results.png of " \
                "ofsoundof/NTIRE2022_ESR@e95ba4a4), #Params [M]"
IMDN_PAPER = "Hui et al., ACM MM 2019, Table 3 (params, Mult-Adds at 720p; PSNR/SSIM: srbench.models.published)"


@dataclass(frozen=True)
class Family:
    """A released model of the field: its network class, the input range of its weights, its files (one per
    scale). ``paper``: the publication, for ``srbench models`` and the docs."""

    name: str
    network: type[nn.Module]
    input_range: float
    paper: str
    records: tuple[WeightsRecord, ...]

    @property
    def scales(self) -> tuple[int, ...]:
        """The scales it has released weights for, ascending."""
        return tuple(sorted(r.scale for r in self.records))


def _record(family: str, scale: int, *, repo: tuple[str, str], path: str, file: str, sha256: str, size: int,
            blob: str, licence: str, constructor: dict, input_range: float, params: int, madds: float,
            description: str, metrics: dict, params_effective: int | None = None) -> WeightsRecord:
    """One released file; the URL is the raw file of ``repo`` (owner/name, commit) at ``path``."""
    owner_name, commit = repo
    return WeightsRecord(
        name=f"{family}_x{scale}", arch=family, build={"scales": scale, "input_range": input_range},
        filename=f"zoo/{file}", url=f"https://raw.githubusercontent.com/{owner_name}/{commit}/{path}",
        sha256=sha256, git_blob_sha1=blob, bytes=size, params=params,
        params_effective=params if params_effective is None else params_effective, mult_adds_g={scale: madds},
        description=description, metrics=metrics, input_range=input_range, licence=licence,
        repo=f"https://github.com/{owner_name}", commit=commit, path=path, constructor=dict(constructor))


_IMDN_REPO = ("Zheng222/IMDN", "8f158e6a5ac9db6e5857d9159fd4a6c4214da574")
_IMDN_FILES = {  # scale: (sha256, bytes, git blob sha1, params, Mult-Adds G at 720p, paper's params and Mult-Adds)
    2: ("740b39653592bd3f49955a21cd9e16f2d37f2c413368cc09327601b8fbe42ce1", 2_796_052,
        "51d924747d0abd4873d18960efe60e04b1c980b0", 694_404, 158.8, (694_000, 158.8)),
    3: ("11b1716a19bc16e5e353e1db798d476169338e631eb170c82d765559888cb028", 2_830_672,
        "57e87c7f9e5742f1eed273d5fd9da23ef353cb78", 703_059, 71.4, (703_000, 71.5)),
    4: ("e660c38221147217a136debeb99eb304d62d9c0f73ac421ed66281b619719714", 2_879_112,
        "3b9bf90db6985f7f97015a6629d001c46f3e2c33", 715_176, 40.9, (715_000, 40.9)),
}


def _imdn_record(scale: int) -> WeightsRecord:
    sha, size, blob, params, madds, (printed, printed_madds) = _IMDN_FILES[scale]
    set5 = published.lookup("imdn", "Set5", scale)  # the printed PSNR/SSIM live in srbench.models.published
    return _record("imdn", scale, repo=_IMDN_REPO, path=f"checkpoints/IMDN_x{scale}.pth", file=f"IMDN_x{scale}.pth",
                   sha256=sha, size=size, blob=blob, licence="no licence file in the repository",
                   constructor=imdn.RELEASED[scale], input_range=_range(imdn), params=params, madds=madds,
                   description=f"IMDN x{scale} (Hui et al., ACM MM 2019), the authors' single-scale file; keys "
                               "prefixed module. (DataParallel)",
                   metrics={"source": IMDN_PAPER, "params": printed, "params_source": IMDN_PAPER + ", in K",
                            "mult_adds": {scale: printed_madds}, "Set5": {scale: (set5.psnr, set5.ssim)},
                            "published_source": set5.source.cite})


def _range(module: ModuleType) -> float:
    """The module's declared ``INPUT_RANGE`` as the top of the range: 1.0 or 255.0 (a (low, high) pair allowed)."""
    value = module.INPUT_RANGE
    return float(value[1] if isinstance(value, tuple) else value)


def _x4(family: str, module: ModuleType, *, repo: tuple[str, str], path: str, file: str, digests: tuple[str, int, str],
        licence: str, params: int, madds: float, printed: tuple[int, str] | None, description: str) -> WeightsRecord:
    """A challenge file: x4, the module's ``RELEASED_X4`` and ``INPUT_RANGE``; ``printed``: (count, source) or None."""
    sha, size, blob = digests
    metrics = {} if printed is None else {"source": printed[1], "params": printed[0], "params_source": printed[1]}
    return _record(family, 4, repo=repo, path=path, file=file, sha256=sha, size=size, blob=blob, licence=licence,
                   constructor=module.RELEASED_X4, input_range=_range(module), params=params, madds=madds,
                   description=description, metrics=metrics)


def _ntire22_row(team: str, value: str) -> tuple[int, str]:
    return round(float(value) * 1e6), f"{NTIRE22_TABLE}: {team} {value}"


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("imdn", imdn.IMDN, _range(imdn), "Hui et al., Lightweight Image Super-Resolution with Information "
           "Multi-distillation Network, ACM MM 2019", tuple(_imdn_record(s) for s in (2, 3, 4))),
    Family("imdn_ntire", imdn_ntire.IMDNBaseline, _range(imdn_ntire), "IMDN as the NTIRE 2022 Efficient SR "
           "Challenge baseline (Li et al., CVPRW 2022)", (
               _x4("imdn_ntire", imdn_ntire, repo=NTIRE22, path="model_zoo/imdn_baseline.pth",
                   file="imdn_ntire2022_baseline_x4.pth", licence="MIT", params=893_936, madds=51.4,
                   digests=("115b4cc557eba9daaf1a6543c4858014c7e2a410655aafef7c8348ae54acc203", 3_589_744,
                            "83c1cbb5d34010bfd567c9937a33c11907ae6a67"),
                   printed=_ntire22_row("IMDN_baseline", "0.894"),
                   description="IMDN as the NTIRE 2022 ESR baseline (nc 64, nb 8; the AIM 2019 simplified IMDN, "
                               "KAIR layout), x4"),)),
    Family("rfdn", rfdn.RFDN, _range(rfdn), "Liu, Tang & Wu, Residual Feature Distillation Network for Lightweight "
           "Image Super-Resolution, ECCVW 2020 (AIM 2020 efficient-SR winner)", (
               _x4("rfdn", rfdn, repo=("njulj/RFDN", "7cf4e25b6633e81fd7e26891aeee2baca4f8f927"),
                   path="trained_model/RFDN_AIM.pth", file="rfdn_aim2020_x4.pth", licence="MIT", params=433_448,
                   madds=23.7, digests=("11af8ec8ebd68689e90ef1e29044f9804c72d3bd9f7573820b7b26035782760c",
                                        1_754_927, "55dc4244eb176c389c6ba92540891311cbb517d2"),
                   printed=_ntire22_row("RFDN AIM2020 Winner", "0.433"),
                   description="RFDN, AIM 2020 efficient-SR winner (nf 50, 4 blocks), x4; the same bytes as the "
                               "NTIRE 2022 ESR repository's rfdn_baseline.pth"),)),
    Family("rlfn", rlfn.RLFN, _range(rlfn), "Kong et al., Residual Local Feature Network for Efficient Super-"
           "Resolution, CVPRW 2022 (NTIRE 2022 ESR winner, team ByteESR)", (
               _x4("rlfn", rlfn, repo=NTIRE22, path="model_zoo/team04_rlfn.pth", file="rlfn_ntire2022_x4.pth",
                   licence="MIT", params=317_218, madds=17.2,
                   digests=("ca81b7757708ce749ac3766589690db6c2729961d026c0137e7659924ec36622", 1_292_283,
                            "5678b7d54318d24b8d3ff1e5386f6bd8f80654aa"),
                   printed=_ntire22_row("ByteESR", "0.317"),
                   description="RLFN (class RLFN_cut), NTIRE 2022 ESR main-track winner, x4"),)),
    Family("fmen", fmen.FMEN, _range(fmen), "Du et al., Fast and Memory-Efficient Network Towards Efficient Image "
           "Super-Resolution, CVPRW 2022 (NTIRE 2022 ESR, team NJU_Jet)", (
               _x4("fmen", fmen, repo=NTIRE22, path="model_zoo/team03_fmen.pth", file="fmen_ntire2022_x4.pth",
                   licence="MIT", params=341_066, madds=19.6,
                   digests=("f20cde0828068c5f50d3b64aa82c8a363fe6abc8d536d1a9fd4d09899f019bea", 1_390_483,
                            "c145a159f28e1c64590fcb8045f3efaad8eca09b"),
                   printed=_ntire22_row("NJU_Jet", "0.341"), description="FMEN, NTIRE 2022 ESR, x4"),)),
    Family("bsrn", bsrn.BSRN, _range(bsrn), "Li et al., Blueprint Separable Residual Network for Efficient Image "
           "Super-Resolution, CVPRW 2022 (NTIRE 2022 ESR model-complexity track, team XPixel)", (
               _x4("bsrn", bsrn, repo=NTIRE22, path="model_zoo/team18_bsrn.pth", file="bsrn_ntire2022_x4.pth",
                   licence="MIT", params=156_288, madds=8.3,
                   digests=("29ac393975ec709912282da97765daf722d9efd40589f4abcb95b3a407f62e40", 699_603,
                            "34b08cb1d4db788a9c95b8d0501600852557bd4c"),
                   printed=_ntire22_row("XPixel", "0.156"),
                   description="BSRN (num_feat 48, 5 blocks), NTIRE 2022 ESR, x4; BasicSR layout (under 'params')"),)),
    Family("safmn", safmn.SAFMN, _range(safmn), "Sun et al., Spatially-Adaptive Feature Modulation for Efficient "
           "Image Super-Resolution, ICCV 2023 (its NTIRE 2023 ESR entry)", (
               _x4("safmn", safmn, repo=("sunny2109/SAFMN", "68c2182e4f8829a979886b0a1cab8f269f91b321"),
                   path="NTIRE2023_ESR/model_zoo/team15_SAFMN.pth", file="safmn_ntire2023_x4.pth",
                   licence="Apache-2.0 (repository)", params=237_000, madds=13.5, printed=None,
                   digests=("93fe3d7175ef1446cfcb3a884ddf8bbb4391f31190e9d1bf6c6c1cb768f8b565", 971_051,
                            "455ff3c6a020a5e2a25b00623adb39a73828aa4c"),
                   description="SAFMN NTIRE 2023 ESR entry (dim 36, 8 blocks), x4; BasicSR layout (under "
                               "'params'); no primary source of its printed count was read"),)),
    Family("span", span.SPAN, _range(span), "Wan et al., Swift Parameter-free Attention Network for Efficient "
           "Super-Resolution, CVPRW 2024 (NTIRE 2024 ESR winner, team XiaomiMM)", (
               _x4("span", span, repo=("Amazingren/NTIRE2024_ESR", "6404fa48dde4a4adbf241a51debdc661aef20449"),
                   path="model_zoo/team38_span_ch28_slim.pth", file="span_ch28_ntire2024_x4.pth", licence="MIT",
                   params=150_688, madds=8.6,
                   digests=("6c80f05048313289c6526e5fc9726688d7bb3dfdd6ae3c8b1e7dd09f601e5971", 618_658,
                            "5194158e13ae79b78b62ac86a2ed3dec20c1ed18"),
                   printed=(151_000, "NTIRE 2024 ESR report (arXiv 2404.10343), Table 1, team XiaomiMM: 0.151 M, as "
                                     "quoted by secondary sources (the primary table was not read here)"),
                   description="SPAN (SPAN30, 28 channels), NTIRE 2024 ESR winner, x4; only the re-parameterised "
                               "inference convolutions"),)),
)}


def field_records() -> dict[str, WeightsRecord]:
    """Every released file of the field, by record name (``imdn_x2``...)."""
    return {r.name: r for family in FAMILIES.values() for r in family.records}


def release(family: str, scale: int) -> WeightsRecord | None:
    """The record of ``family``'s file for ``scale``; None when it has none at that scale."""
    return next((r for r in FAMILIES[family].records if r.scale == scale), None)


def family_of(weights: str) -> str | None:
    """The family a released file's record name belongs to (``imdn_x2`` -> ``imdn``); None for any other name.
    Reports key a row by the family, so that one model's per-scale files make one row."""
    record = field_records().get(weights)
    return record.arch if record is not None else None
