"""The report's figures (matplotlib, Agg): PNG and PDF, sized for a paper column or page.

Every figure has two functions: ``*_figure`` builds and returns the matplotlib ``Figure`` from plain data (lists of
dicts, arrays), so it can be inspected and tested without MLflow, and the writer (``bubble_chart``, ``crop_grid``,
...) saves it and returns the paths it wrote. PNGs stay under ``PNG_LIMIT`` (crop grids under ``CROP_PNG_LIMIT``):
the resolution is lowered until they fit. Output is deterministic: no dates in the metadata, fixed layout, colours
and label placement (no randomness anywhere). Every figure is drawn under :data:`.style.RC` in a
``matplotlib.rc_context``; the global ``rcParams`` are never rewritten.

One module per kind: :mod:`.style` (settings, colours, saving), :mod:`.bubble` (PSNR versus Mult-Adds) with
:mod:`.labels` (its label placement), :mod:`.crops` (crop grids), :mod:`.training` (training curves) and
:mod:`.ablation` (ablation plots). The names below are the package's interface.
"""

from srbench.report.figures.ablation import (ablation_category_figure, ablation_category_plot, ablation_group_figure,
                                             ablation_group_plot)
from srbench.report.figures.bubble import bubble_chart, bubble_figure, is_variant
from srbench.report.figures.crops import (CROP_DPI, CROP_PNG_LIMIT, MAX_TILES, MIN_TILE_PX, crop_caption,
                                          crop_figure, crop_grid, crop_parts)
from srbench.report.figures.labels import place_labels
from srbench.report.figures.style import PAGE_WIDTH, PNG_LIMIT, color_for, pyplot, save, styled, wrap_label
from srbench.report.figures.training import training_curves

__all__ = ["CROP_DPI", "CROP_PNG_LIMIT", "MAX_TILES", "MIN_TILE_PX", "PAGE_WIDTH", "PNG_LIMIT",
           "ablation_category_figure", "ablation_category_plot", "ablation_group_figure", "ablation_group_plot", "bubble_chart", "bubble_figure",
           "color_for", "crop_caption", "crop_figure", "crop_grid", "crop_parts", "is_variant", "place_labels",
           "pyplot", "save", "styled", "training_curves", "wrap_label"]
