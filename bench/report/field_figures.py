"""The field's bubble charts: PSNR against Mult-Adds, bubble area proportional to parameters, one bubble per
measured model of the field table (:mod:`srbench.report.field_table`), in the style of the CARN paper's figure.
Drawing and label placement (every label beside its bubble or joined to it by a leader line, none overlapping) are
:func:`srbench.report.figures.bubble_chart`'s; this module only chooses the points.
"""

from __future__ import annotations

import math
from pathlib import Path

from srbench.report import figures
from srbench.report.field_table import BN_MODE, PROTOCOL, Field, FieldRow

#: the (dataset, scale) of each chart, as the issue asks (the CARN paper's figure is Set14 x4)
CHARTS = (("Set14", 4), ("Urban100", 4))


def bubble_points(rows: list[FieldRow], dataset: str) -> tuple[list[dict], float | None]:
    """(points, bicubic PSNR) for one dataset: every measured row with Mult-Adds and parameters."""
    points, bicubic = [], None
    for r in rows:
        if dataset not in r.scores or not math.isfinite(r.scores[dataset][0]):
            continue
        if r.model == "bicubic":
            bicubic = r.scores[dataset][0]
            continue
        if r.mult_adds_g and r.params:
            points.append({"label": r.label, "model": r.model, "weights": r.model, "bn_mode": BN_MODE,
                           "psnr": r.scores[dataset][0], "published": False, "mult_adds_g": r.mult_adds_g,
                           "params": r.params})
    return points, bicubic


def field_bubbles(field: Field, out_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Write the charts that have points; returns (files written, (stem, caption) per chart)."""
    written, captions = [], []
    for dataset, scale in CHARTS:
        rows = field.rows.get(scale, [])
        points, bicubic = bubble_points(rows, dataset)
        if not points:
            continue
        outs = {r.measure_out for r in rows if r.mult_adds_g}
        out = outs.pop() if len(outs) == 1 else "720x1280"
        stem = f"field_psnr_vs_mult_adds_{dataset}_x{scale}"
        written += figures.bubble_chart(points, dataset=dataset, scale=scale, out_dir=out_dir, stem=stem,
                                        bicubic_psnr=bicubic, protocol=PROTOCOL, bn_mode=BN_MODE, measure_out=out)
        captions.append((stem, f"The field on {dataset} x{scale}: measured PSNR against Mult-Adds (log scale), "
                               f"bubble area ∝ parameters, {len(points)} models; measured bicubic: the dashed line "
                               "(or a note in the corner when below the range)."))
    return written, captions
