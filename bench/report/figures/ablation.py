"""The ablation figures: against group size (PSNR lines with seed-spread error bars, and params / Mult-Adds /
latency on one log axis) or one row per point (e.g. per loss), each with a small legend below the panels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from srbench.report.figures.style import (EXTRA_COLORS, PAGE_WIDTH, nice_ceil, nice_floor, plain_log_axis, pyplot,
                                          save, styled, wrap_label)

# The efficiency panel: (key in the point dicts, divisor, legend label, marker, colour).
EFFICIENCY = (("params", 1e3, "params (K)", "o", "#333333"), ("mult_adds_g", 1.0, "Mult-Adds (G)", "s", "#1f5f8b"),
              ("latency_ms", 1.0, "latency (ms)", "^", "#9b2d30"))
_DATASET_STYLES = ("-", "--", ":", "-.")
_DATASET_MARKERS = ("o", "s", "D", "^", "v")


def _isnum(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def _value(v) -> float:
    return float(v) if v is not None and _isnum(v) else np.nan


def _efficiency_metrics(points: list[dict]) -> list[tuple]:
    return [m for m in EFFICIENCY if any(np.isfinite(_value(p.get(m[0]))) and _value(p.get(m[0])) > 0
                                         for p in points)]


def _bottom_legends(fig, rows: list[tuple[list, list[str]]]) -> None:
    """Small legends under the panels, one row per kind of entry (series; datasets and metrics), wrapped into more
    columns than fit the page never; the panels are laid out above them."""
    rows = [(h, l) for h, l in rows if h]
    renderer = fig.canvas.get_renderer()
    legends = []
    for handles, labels in rows:
        longest = max(len(line) for lab in labels for line in lab.split("\n"))
        ncol = max(1, min(len(handles), int(PAGE_WIDTH * 72 / (longest * 3.4 + 30))))
        legends.append(fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, fontsize=6,
                                  handlelength=2.2, columnspacing=1.4, borderaxespad=0.1, borderpad=0.2))
    bottom = 0.0
    for leg in reversed(legends):   # stack from the bottom of the figure up
        leg.set_bbox_to_anchor((0.5, bottom), transform=fig.transFigure)
        bottom += leg.get_window_extent(renderer).height / fig.bbox.height
    fig.tight_layout(rect=(0.0, bottom + (0.01 if legends else 0.0), 1.0, 1.0))


def _log_limits(values) -> tuple[float, float] | None:
    """Log-axis limits at 1-2-5 values around the positive ``values`` (None when there are none)."""
    v = [x for x in values if np.isfinite(x) and x > 0]
    return (nice_floor(min(v) / 1.3), nice_ceil(max(v) * 1.3)) if v else None


def _efficiency_axis(ax_e, points: list[dict], metrics: list[tuple], which: str) -> None:
    """The efficiency panel's value axis (``which``: "x" or "y"): one log scale for every metric, or a note when
    no point logged any; and the panel's title."""
    if metrics:
        getattr(ax_e, f"set_{which}scale")("log")
        getattr(ax_e, f"set_{which}lim")(*_log_limits([_value(p.get(m[0])) / m[1] for p in points for m in metrics]))
        plain_log_axis(getattr(ax_e, f"{which}axis"))
        getattr(ax_e, f"set_{which}label")("value (log scale; units in the legend)")
    else:
        ax_e.text(0.5, 0.5, "no efficiency metrics logged", transform=ax_e.transAxes, ha="center", fontsize=7)
    ax_e.set_title("params / Mult-Adds / latency")


def _metric_handles(metrics: list[tuple], color: str | None = None, linewidth: float = 0.0) -> tuple[list, list]:
    """Legend entries of the efficiency metrics (their own colours unless ``color``)."""
    from matplotlib.lines import Line2D
    size = 3.5 if color else 4
    line = {"linewidth": linewidth} if linewidth else {"linestyle": "none"}
    return ([Line2D([], [], color=color or c, marker=marker, markersize=size, **line)
             for _, _, _, marker, c in metrics],
            [lab for _, _, lab, _, _ in metrics])


def _group_lines(ax, ax_e, points: list[dict], datasets: list[str], series: list[str], pos: dict,
                 metrics: list[tuple]) -> None:
    """Per series: one PSNR line per dataset (error bars where a point gives a seed spread) and one efficiency line
    per metric."""
    for si, name in enumerate(series):
        c = EXTRA_COLORS[si % len(EXTRA_COLORS)]
        sp = [p for p in points if p["series"] == name]
        shift = (si - (len(series) - 1) / 2) * 0.05     # series side by side, so error bars do not coincide
        px = [pos[p["x"]] + shift for p in sp]
        for di, d in enumerate(datasets):
            y = [_value(p["psnr"].get(d)) for p in sp]
            err = [_value((p.get("psnr_std") or {}).get(d)) for p in sp]
            style = {"color": c, "linestyle": _DATASET_STYLES[di % 4], "marker": "o", "markersize": 3,
                     "linewidth": 1.0}
            if any(np.isfinite(err)):
                ax.errorbar(px, y, yerr=np.nan_to_num(err), capsize=2, elinewidth=0.7, **style)
            else:
                ax.plot(px, y, **style)
        for key, div, _, marker, _ in metrics:
            ax_e.plot(px, [_value(p.get(key)) / div for p in sp], color=c, marker=marker, markersize=3.5,
                      linewidth=0.9)


@styled
def ablation_group_figure(points: list[dict], datasets: list[str], *, title: str):
    """Two panels against group size: PSNR (one line per series and dataset, error bars where a point gives a seed
    spread) and params / Mult-Adds / latency (one log axis, not twin axes); a small legend below. Returns the
    Figure.

    ``points``: dicts with x (the group), series (label of the other swept values, "" for none), psnr ({dataset:
    value}), optional psnr_std ({dataset: std over seeds}), params, mult_adds_g, latency_ms, baseline (bool)."""
    from matplotlib.lines import Line2D
    fig, (ax, ax_e) = pyplot().subplots(1, 2, figsize=(PAGE_WIDTH, 2.9), gridspec_kw={"width_ratios": [1.15, 1.0]})
    xs = sorted({p["x"] for p in points}, key=lambda v: (float(v) if _isnum(v) else math.inf, str(v)))
    series = list(dict.fromkeys(p["series"] for p in points))
    metrics = _efficiency_metrics(points)
    _group_lines(ax, ax_e, points, datasets, series, {x: i for i, x in enumerate(xs)}, metrics)
    base = {p["x"] for p in points if p.get("baseline")}
    for a in (ax, ax_e):
        a.set_xticks(range(len(xs)))
        a.set_xticklabels([f"{x}" + ("*" if x in base else "") for x in xs])
        a.set_xlabel("group size (* = baseline)")
        a.grid(True, color="#e2e2e2", linewidth=0.5)
        a.set_xlim(-0.4, len(xs) - 0.6)
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title)
    _efficiency_axis(ax_e, points, metrics, "y")
    series_row = ([Line2D([], [], color=EXTRA_COLORS[si % len(EXTRA_COLORS)], linewidth=1.5)
                   for si in range(len(series))],
                  [wrap_label(name or "(no series)", 30) for name in series]) if any(series) else ([], [])
    handles, names = _metric_handles(metrics, "#666666", 0.9)
    kinds = ([Line2D([], [], color="#666666", linestyle=_DATASET_STYLES[di % 4], linewidth=1.0)
              for di in range(len(datasets))] + handles, [f"PSNR {d}" for d in datasets] + names)
    _bottom_legends(fig, [series_row, kinds])
    return fig


@styled
def ablation_group_plot(points: list[dict], datasets: list[str], *, title: str, out_dir: Path,
                        stem: str) -> list[Path]:
    """:func:`ablation_group_figure`, written as PNG and PDF."""
    return save(ablation_group_figure(points, datasets, title=title), out_dir, stem)


def _category_dots(ax, points: list[dict], datasets: list[str], y: np.ndarray) -> None:
    """PSNR per point and dataset as dots (seed-spread error bars where given), the axis zoomed to the values and
    their bars."""
    nd = max(len(datasets), 1)
    vals = []
    for j, d in enumerate(datasets):
        off = (j - (nd - 1) / 2) * min(0.18, 0.6 / nd)
        xv = [_value(p["psnr"].get(d)) for p in points]
        err = [_value((p.get("psnr_std") or {}).get(d)) for p in points]
        # the axis spans the error bars too, so that no bar is cut at the frame
        vals += [v + sign * (e if np.isfinite(e) else 0.0) for v, e in zip(xv, err) if np.isfinite(v)
                 for sign in (-1.0, 1.0)]
        style = {"color": EXTRA_COLORS[j % len(EXTRA_COLORS)], "marker": _DATASET_MARKERS[j % 5], "markersize": 4,
                 "linestyle": "none"}
        if any(np.isfinite(err)):
            ax.errorbar(xv, y + off, xerr=np.nan_to_num(err), capsize=2, elinewidth=0.7, **style)
        else:
            ax.plot(xv, y + off, **style)
    if vals:
        lo, hi = min(vals), max(vals)
        span = max(hi - lo, 0.1)
        ax.set_xlim(lo - 0.12 * span, hi + 0.12 * span)


@styled
def ablation_category_figure(points: list[dict], datasets: list[str], *, title: str):
    """Two panels, one row per point (e.g. per loss): PSNR per dataset as dots with seed-spread error bars where
    given (the axis is zoomed to the values), and params / Mult-Adds / latency on one log axis; point labels on the
    left (wrapped), a small legend below. Returns the Figure.

    ``points``: dicts with label, psnr ({dataset: value}), optional psnr_std, params, mult_adds_g, latency_ms,
    baseline (bool)."""
    from matplotlib.lines import Line2D
    labels = [wrap_label(p["label"] + (" *" if p.get("baseline") else ""), 30) for p in points]
    lines = max([lab.count("\n") + 1 for lab in labels] or [1])
    row = max(0.26, 0.13 * lines + 0.08)
    fig, (ax, ax_e) = pyplot().subplots(1, 2, figsize=(PAGE_WIDTH, 1.25 + row * max(len(points), 1)), sharey=True,
                                        gridspec_kw={"width_ratios": [1.3, 1.0]})
    metrics = _efficiency_metrics(points)
    y = np.arange(len(points), dtype=float)
    _category_dots(ax, points, datasets, y)
    nm = max(len(metrics), 1)
    for mi, (key, div, _, marker, color) in enumerate(metrics):
        off = (mi - (nm - 1) / 2) * min(0.18, 0.6 / nm)
        ax_e.plot([_value(p.get(key)) / div for p in points], y + off, color=color, marker=marker, markersize=4,
                  linestyle="none")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    for tick, p in zip(ax.get_yticklabels(), points):
        if p.get("baseline"):
            tick.set_fontweight("bold")
    ax.set_ylim(len(points) - 0.5, -0.5)
    ax.set_xlabel("PSNR (dB; axis zoomed to the values)")
    ax.set_title(title + " (* = baseline)")
    for a in (ax, ax_e):
        a.grid(True, axis="x", color="#e2e2e2", linewidth=0.5)
    _efficiency_axis(ax_e, points, metrics, "x")
    handles, names = _metric_handles(metrics)
    _bottom_legends(fig, [([Line2D([], [], color=EXTRA_COLORS[j % len(EXTRA_COLORS)], marker=_DATASET_MARKERS[j % 5],
                                   markersize=4, linestyle="none") for j in range(len(datasets))] + handles,
                           [f"PSNR {d}" for d in datasets] + names)])
    return fig


@styled
def ablation_category_plot(points: list[dict], datasets: list[str], *, title: str, out_dir: Path,
                           stem: str) -> list[Path]:
    """:func:`ablation_category_figure`, written as PNG and PDF."""
    return save(ablation_category_figure(points, datasets, title=title), out_dir, stem)
