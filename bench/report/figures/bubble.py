"""The bubble chart: PSNR against Mult-Adds (log x), bubble area proportional to parameters, measured models as
filled discs and published ones as rings, every label placed next to its bubble or joined to it by a leader line
(:mod:`.labels`), the measured bicubic PSNR as a dashed line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from srbench.report.figures.labels import place_labels
from srbench.report.figures.style import (MODEL_COLORS, PAGE_WIDTH, color_for, nice_ceil, nice_floor,
                                          plain_log_axis, pyplot, save, styled, wrap_label)


def _nice_sizes(pmax: float) -> list[float]:
    candidates = [50e3, 100e3, 300e3, 700e3, 1.5e6, 3e6, 5e6, 10e6]
    keep = [c for c in candidates if c <= pmax * 1.05]
    return keep[-3:] if len(keep) >= 3 else (keep or [pmax])


def is_variant(point: dict, bn_mode: str = "eval") -> bool:
    """A measured point that is not a released model in the protocol's BatchNorm mode: other BN statistics, or
    weights other than the release named after the architecture (``*_half`` checkpoints, trained ``run:`` ids)."""
    if point.get("published"):
        return False
    weights = point.get("weights") or point.get("model")
    return (point.get("bn_mode") or bn_mode) != bn_mode or weights != point.get("model")


def _fit_limits(lo: float, hi: float, values, radii_pt, length_pt: float, margin_pt: float):
    """Widen [lo, hi] (in axis units, linear) until every bubble (centre, radius in points) lies inside with a
    margin, given the axis length in points."""
    for _ in range(8):
        per_pt = (hi - lo) / max(length_pt, 1.0)
        lo = min([lo] + [v - (r + margin_pt) * per_pt for v, r in zip(values, radii_pt)])
        hi = max([hi] + [v + (r + margin_pt) * per_pt for v, r in zip(values, radii_pt)])
    return lo, hi


@styled
def bubble_figure(points: list[dict], *, dataset: str, scale: int, bicubic_psnr: float | None = None,
                  protocol: str = "standard", bn_mode: str = "eval", variants: bool = False,
                  measure_out: str = "720x1280"):
    """PSNR against Mult-Adds (log x, ticks as plain numbers), bubble area proportional to parameters, in the style
    of CARN's chart; returns the Figure.

    ``points``: dicts with label, model, psnr, mult_adds_g, params, published (bool), and for measured points
    weights and bn_mode, for published ones source. Published points are hollow rings, measured ones filled discs
    (legend on the right). By default only the released models in the protocol's BatchNorm mode ``bn_mode`` are
    drawn (one bubble per model); ``variants=True`` adds the other weights (``*_half``, trained runs) and BN modes.
    Every label sits next to its own bubble or is joined to it by a leader line, and no two labels overlap
    (:func:`place_labels`). Measured bicubic (no Mult-Adds) is a dashed line, or a note when outside the range.
    Mult-Adds are for the ``measure_out`` output (``HxW``, named on the x axis).
    Artists carry gids: ``bubble-<i>`` (the disc), ``bubble-label-<i>``, ``bubble-leader-<i>``."""
    plt = pyplot()
    pts = [p for p in points if p.get("mult_adds_g") and p["mult_adds_g"] > 0 and p.get("params")
           and p.get("psnr") is not None and np.isfinite(p["psnr"])]
    if not variants:
        pts = [p for p in pts if not is_variant(p, bn_mode)]
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 3.3))
    pmax = max([p["params"] for p in pts], default=1e6)
    area = 1000.0 / max(pmax, 1.5e6)  # points^2 per parameter: one scale whatever the models (CARN: ~1000)
    radii_pt = _draw_bubbles(ax, pts, area)
    _bubble_axes(ax, pts, dataset=dataset, scale=scale, protocol=protocol, bn_mode=bn_mode, variants=variants,
                 measure_out=measure_out)
    _bubble_legends(fig, ax, pts, pmax, area)
    _fit_bubbles(fig, ax, pts, radii_pt)
    obstacles = _bicubic_line(fig, ax, pts, bicubic_psnr)
    _bubble_labels(fig, ax, pts, radii_pt, obstacles)
    return fig


def _draw_bubbles(ax, pts: list[dict], area: float) -> list[float]:
    """One filled disc (measured) or hollow ring (published) per point, area proportional to parameters; returns
    each bubble's radius in points (edge included)."""
    sizes_pt2, edge_pt = [], []
    for i, p in enumerate(pts):
        c = color_for(p.get("model", ""), i)
        s = p["params"] * area
        sizes_pt2.append(s)
        if p.get("published"):
            ax.scatter([p["mult_adds_g"]], [p["psnr"]], s=s, facecolors="none", edgecolors=c, linewidths=1.6,
                       zorder=4, gid=f"bubble-{i}")
            ax.scatter([p["mult_adds_g"]], [p["psnr"]], s=5, color=c, zorder=5, linewidths=0)
            edge_pt.append(0.8)
        else:
            ax.scatter([p["mult_adds_g"]], [p["psnr"]], s=s, color=c, alpha=0.85, edgecolors="white",
                       linewidths=0.8, zorder=3, gid=f"bubble-{i}")
            ax.scatter([p["mult_adds_g"]], [p["psnr"]], s=5, color="white", zorder=5, linewidths=0)
            edge_pt.append(0.4)
    return [math.sqrt(s) / 2.0 + e for s, e in zip(sizes_pt2, edge_pt)]


def _bubble_axes(ax, pts: list[dict], *, dataset: str, scale: int, protocol: str, bn_mode: str,
                 variants: bool, measure_out: str) -> None:
    """Log x axis with plain-number ticks, limits around the points, labels, title and grid."""
    ax.set_xscale("log")
    xs = [p["mult_adds_g"] for p in pts]
    ys = [p["psnr"] for p in pts]
    if pts:
        ax.set_xlim(nice_floor(min(xs) / 1.4), nice_ceil(max(xs) * 1.5))
        span = max(max(ys) - min(ys), 0.3)
        ax.set_ylim(min(ys) - 0.3 * span, max(ys) + 0.3 * span)
    plain_log_axis(ax.xaxis)
    ax.set_xlabel(f"Mult-Adds (G, {measure_out} output; log scale)")
    ax.set_ylabel(f"PSNR (dB), {dataset} x{scale}")
    ax.set_title(f"PSNR versus Mult-Adds, {dataset} x{scale}, protocol {protocol}"
                 + ("" if variants else f" (released models, BN {bn_mode})"))
    ax.grid(True, which="major", color="#e2e2e2", linewidth=0.5, zorder=0)
    ax.set_axisbelow(True)


def _bubble_legends(fig, ax, pts: list[dict], pmax: float, area: float) -> None:
    """Marker-kind and bubble-size legends in a column to the right of the axes (the axes shrink to make room)."""
    from matplotlib.lines import Line2D

    # legends in a column on the right of the axes: marker kind (top), bubble size (bottom)
    sources = sorted({p.get("source") or "" for p in pts if p.get("published")})
    kinds = [Line2D([], [], marker="o", linestyle="none", markersize=8, markerfacecolor="#999999",
                    markeredgecolor="white")]
    kind_labels = ["measured\n(this benchmark)"]
    if sources:
        kinds.append(Line2D([], [], marker="o", linestyle="none", markersize=8, markerfacecolor="none",
                            markeredgecolor="#777777", markeredgewidth=1.5))
        kind_labels.append("published" + "".join(f"\n({s})" for s in sources if s))
    leg_kind = fig.legend(kinds, kind_labels, loc="upper left", frameon=False, borderaxespad=0.0,
                          handletextpad=0.4, labelspacing=0.9)
    sizes = _nice_sizes(pmax)
    handles = [ax.scatter([], [], s=v * area, color="#bbbbbb", edgecolors="white") for v in sizes]
    leg_size = fig.legend(handles, [f"{v / 1e3:,.0f}K" for v in sizes], title="# parameters", loc="lower left",
                          labelspacing=1.8, borderpad=0.4, frameon=False, scatterpoints=1, borderaxespad=0.0,
                          title_fontsize=6.5, handletextpad=1.2)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend_w = max(leg.get_window_extent(renderer).width for leg in (leg_kind, leg_size)) / fig.bbox.width
    fig.tight_layout(rect=(0.0, 0.0, 0.985 - legend_w - 0.01, 1.0))
    box = ax.get_position()
    leg_kind.set_bbox_to_anchor((box.x1 + 0.015, box.y1), transform=fig.transFigure)
    leg_size.set_bbox_to_anchor((box.x1 + 0.015, box.y0), transform=fig.transFigure)


def _fit_bubbles(fig, ax, pts: list[dict], radii_pt: list[float]) -> None:
    """Limits that hold every bubble whole (with room for a label line), now that the axes size is known."""
    px_per_pt = fig.dpi / 72.0
    xs = [p["mult_adds_g"] for p in pts]
    ys = [p["psnr"] for p in pts]
    # y limits that hold every bubble (with room for a label line), now that the axes size is known
    if pts:
        bbox = ax.get_window_extent()
        height_pt, width_pt = bbox.height / px_per_pt, bbox.width / px_per_pt
        lo, hi = _fit_limits(*ax.get_ylim(), ys, radii_pt, height_pt, 4.0)
        ax.set_ylim(lo, hi)
        x_lo, x_hi = ax.get_xlim()
        lx, hx = _fit_limits(math.log10(x_lo), math.log10(x_hi), np.log10(xs), radii_pt, width_pt, 3.0)
        # widen only where a bubble needs it (the 1-2-5 limits are kept exactly otherwise)
        ax.set_xlim(10 ** lx if lx < math.log10(x_lo) - 1e-9 else x_lo, 10 ** hx if hx > math.log10(x_hi) + 1e-9
                    else x_hi)


def _bicubic_line(fig, ax, pts: list[dict], bicubic_psnr: float | None) -> list[tuple]:
    """The measured bicubic PSNR as a dashed line (or a note when outside the range); returns its label's box as
    an obstacle for the label placer."""
    obstacles = []
    if bicubic_psnr is not None:
        lo, hi = ax.get_ylim()
        if not pts or lo <= bicubic_psnr <= hi:
            ax.axhline(bicubic_psnr, color=MODEL_COLORS["bicubic"], linestyle="--", linewidth=0.9, zorder=1)
            note = ax.annotate(f"bicubic (measured) {bicubic_psnr:.2f} dB", (0.01, bicubic_psnr),
                               xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points",
                               fontsize=6.5, color="#555555", gid="bicubic-note")
        else:
            note = ax.annotate(f"bicubic (measured): {bicubic_psnr:.2f} dB, {'below' if bicubic_psnr < lo else 'above'}"
                               " this range", (0.01, 0.02), xycoords="axes fraction", fontsize=6.5, color="#555555",
                               gid="bicubic-note")
        note.set_in_layout(False)
        fig.canvas.draw()
        b = note.get_window_extent(fig.canvas.get_renderer())
        obstacles.append((b.x0, b.y0, b.x1, b.y1))
    return obstacles


def _bubble_labels(fig, ax, pts: list[dict], radii_pt: list[float], obstacles: list[tuple]) -> None:
    """Each bubble's label placed by :func:`place_labels`, with a leader line where it had to move away."""
    px_per_pt = fig.dpi / 72.0
    if pts:
        renderer = fig.canvas.get_renderer()
        labels = []
        for i, p in enumerate(pts):
            text = wrap_label(p["label"] + (" (published)" if p.get("published") else ""))
            lab = ax.annotate(text, (p["mult_adds_g"], p["psnr"]), xytext=(0, 0), textcoords="offset points",
                              ha="left", va="bottom", fontsize=6.5, linespacing=1.05, color="#222222",
                              fontstyle="italic" if p.get("published") else "normal", zorder=6,
                              annotation_clip=False, gid=f"bubble-label-{i}")
            lab.set_in_layout(False)
            labels.append(lab)
        fig.canvas.draw()
        centres = [tuple(ax.transData.transform((p["mult_adds_g"], p["psnr"]))) for p in pts]
        extents = [lab.get_window_extent(renderer) for lab in labels]
        a = ax.get_window_extent(renderer)
        placed = place_labels(centres, [r * px_per_pt for r in radii_pt],
                              [(e.width, e.height) for e in extents], (a.x0, a.y0, a.x1, a.y1), obstacles,
                              px_per_pt)
        for i, (lab, c) in enumerate(zip(labels, placed)):
            lab.xyann = c.offset
            lab.set_horizontalalignment(c.ha)
            lab.set_verticalalignment(c.va)
            if c.leader:
                lead = ax.annotate("", (pts[i]["mult_adds_g"], pts[i]["psnr"]), xytext=c.offset,
                                   textcoords="offset points", zorder=2, annotation_clip=False,
                                   arrowprops={"arrowstyle": "-", "color": "#555555", "linewidth": 0.6,
                                               "shrinkA": 0.0, "shrinkB": radii_pt[i]},
                                   gid=f"bubble-leader-{i}")
                lead.set_in_layout(False)
    else:
        ax.text(0.5, 0.5, "no points with Mult-Adds and parameters", transform=ax.transAxes, ha="center",
                va="center", fontsize=7, color="#555555")


@styled
def bubble_chart(points: list[dict], *, dataset: str, scale: int, out_dir: Path, stem: str,
                 bicubic_psnr: float | None = None, protocol: str = "standard", bn_mode: str = "eval",
                 variants: bool = False, measure_out: str = "720x1280") -> list[Path]:
    """:func:`bubble_figure`, written as ``<stem>.png`` and ``<stem>.pdf``."""
    return save(bubble_figure(points, dataset=dataset, scale=scale, bicubic_psnr=bicubic_psnr, protocol=protocol,
                              bn_mode=bn_mode, variants=variants, measure_out=measure_out), out_dir, stem)
