"""Sentences that explain rows a reader would otherwise take for a bug, computed from the rows themselves.

The one case today: a BatchNorm network (ECDN, ECDN-M) in ``eval`` mode that scores below bicubic. Its authors ran it
without ``model.eval()``, so every BatchNorm normalised each image with that image's own statistics; the running
statistics stored in the released checkpoints are not what those weights were evaluated with (``models/bn.py``). A
sentence is written only for rows present in the store, with their measured values and, when measured, the same
weights' score with per-image statistics.
"""

from __future__ import annotations

import pandas as pd

IDENTITY = ("model", "weights", "group")


def below_bicubic(results: pd.DataFrame, protocol: str) -> list[str]:
    """One sentence per (dataset, scale) where a network in BatchNorm ``eval`` mode scores below bicubic under
    ``protocol``, naming the rows, their PSNR, bicubic's and (when present) the ``batch``-mode PSNR."""
    res = results[results["protocol"] == protocol]
    bicubic = res[res["model"] == "bicubic"]
    out = []
    for (dataset, scale), bic in bicubic.groupby(["dataset", "scale"], sort=False):
        here = res[(res["dataset"] == dataset) & (res["scale"] == scale)]
        low = here[(here["model"] != "bicubic") & (here["bn_mode"] == "eval") & (here["psnr"] < bic["psnr"].iloc[0])]
        rows = []
        for r in low.itertuples(index=False):
            peer = _batch_psnr(here, r)
            if peer is not None:   # the network was also measured per image, so its BatchNorm mode matters
                rows.append(f"{r.label} {r.psnr:.2f} dB ({peer:.2f} dB with per-image statistics)")
        if not rows:
            continue
        out.append(
            f"{dataset} x{scale}, protocol `{protocol}`: {', '.join(rows)} in BatchNorm `eval` mode "
            f"{'scores' if len(rows) == 1 else 'score'} below "
            f"bicubic ({bic['psnr'].iloc[0]:.2f} dB). This is not a harness error: these networks' authors ran them "
            "without `model.eval()`, so every BatchNorm normalised each image with that image's own statistics, and "
            "the released weights were evaluated only that way; the running statistics stored in the checkpoints "
            "do not fit them here. The `batch` rows (BatchNorm mode table) reproduce the authors' outputs; the "
            "harness reports both modes (`models/bn.py`).")
    return out


def _same(a, b) -> bool:
    return (pd.isna(a) and pd.isna(b)) or a == b


def _batch_psnr(here: pd.DataFrame, row) -> float | None:
    """The PSNR of ``row``'s network (model, weights, group) in BatchNorm ``batch`` mode on the same dataset and
    scale, or None when it was not measured so (CARN and bicubic never are: they have no BatchNorm)."""
    for r in here[here["bn_mode"] == "batch"].itertuples(index=False):
        if all(_same(getattr(r, col), getattr(row, col)) for col in IDENTITY):
            return float(r.psnr)
    return None
