"""Which metrics a cell measures on each of its datasets: an experiment's declared ``metrics``, or the default.

``metrics: [psnr, ssim, lpips]`` may be given for a whole experiment or per model entry (the entry's wins). PSNR and
SSIM are always measured, so a declared list must name them; ``lpips`` is the only optional metric, because it costs
a second network pass per image.

Default (no ``metrics`` anywhere): LPIPS only where the ECDN report's Table 1 reads it, so it does not slow the rest of
the benchmark: on Set5, Set14 and B100 at x4 (:data:`TABLE1_DATASETS`, :data:`TABLE1_SCALE`), and on every dataset of
an entry under the ``ecdn_report`` protocol. Which metrics are on is part of the cell's identity
(``srbench.track.benchmark``), so turning LPIPS on recomputes the cells it concerns.
"""

from __future__ import annotations

from collections.abc import Iterable

from srbench.core.errors import SrbenchError
from srbench.core.names import suggest

METRICS = ("psnr", "ssim", "lpips")
ALWAYS = ("psnr", "ssim")
#: The ECDN report's Table 1: sums over these datasets at this scale.
TABLE1_DATASETS = ("Set5", "Set14", "B100")
TABLE1_SCALE = 4
#: Entries under this protocol measure LPIPS on every dataset by default (the report's own script did).
TABLE1_PROTOCOL = "ecdn_report"


def check_metrics(values: Iterable[str] | None, where: str) -> None:
    """A declared ``metrics`` list: known names, PSNR and SSIM included; a one-line SrbenchError naming ``where``."""
    if values is None:
        return
    values = list(values)
    for name in values:
        if name not in METRICS:
            raise SrbenchError(f"{where}: metric {name!r} is unknown{suggest(name, METRICS)}; "
                               f"known: {', '.join(METRICS)}")
    missing = [m for m in ALWAYS if m not in values]
    if missing:
        raise SrbenchError(f"{where}: metrics must list {' and '.join(missing)} (always measured), e.g. "
                           f"[psnr, ssim, lpips]")


def default_metrics(dataset_key: str, scale: int, protocol: str) -> tuple[str, ...]:
    """The metrics measured when nothing is declared (see the module docstring)."""
    table1 = (scale == TABLE1_SCALE and dataset_key in TABLE1_DATASETS) or protocol == TABLE1_PROTOCOL
    return METRICS if table1 else ALWAYS


def cell_metrics(declared: Iterable[str] | None, datasets: Iterable[str], scale: int,
                 protocol: str) -> dict[str, tuple[str, ...]]:
    """Per dataset (as named in the experiment) the metrics measured, in :data:`METRICS` order.

    ``declared``: the entry's ``metrics``, else the experiment's, else None (the default rule, which reads the
    dataset's id, :func:`srbench.data.datasets.dataset_id`).
    """
    from srbench.data.datasets import dataset_id

    out = {}
    for d in datasets:
        chosen = set(declared) if declared is not None else set(default_metrics(dataset_id(d), scale, protocol))
        out[str(d)] = tuple(m for m in METRICS if m in chosen)
    return out


def lpips_datasets(metrics: dict[str, tuple[str, ...]]) -> frozenset[str]:
    """The datasets of a :func:`cell_metrics` mapping on which LPIPS is measured."""
    return frozenset(d for d, names in metrics.items() if "lpips" in names)
