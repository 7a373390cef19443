"""The report's figures (matplotlib, Agg): PNG and PDF, sized for a paper column or page.

Every figure has two functions: ``*_figure`` builds and returns the matplotlib ``Figure`` from plain data (lists of
dicts, arrays), so it can be inspected and tested without MLflow, and the writer (``bubble_chart``, ``crop_grid``,
...) saves it and returns the paths it wrote. PNGs stay under ``PNG_LIMIT`` (crop grids under ``CROP_PNG_LIMIT``):
the resolution is lowered until they fit. Output is deterministic: no dates in the metadata, fixed layout, colours
and label placement (no randomness anywhere).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

PNG_LIMIT = 280 * 1024          # bytes (a PNG is re-rendered at a lower resolution until it fits)
CROP_PNG_LIMIT = 580 * 1024     # bytes, crop grids (photographic content)
PDF_IMAGE_DPI = 200             # resolution of raster images (the HR photograph) inside the PDFs
MIN_TILE_PX = 160               # a crop tile is drawn at least this many pixels wide (nearest-neighbour)
CROP_DPI = 200                  # resolution of the crop grids' PNG
HR_PIXELS = 240_000             # pixel budget of a crop grid's photographs (HR panel plus the crops' own pixels)
PAGE_WIDTH = 7.0                # inches: a two-column paper's full text width
MODEL_COLORS = {"bicubic": "#7f7f7f", "carn": "#9b2d30", "carn_m": "#d1603d", "ecdn": "#1f5f8b",
                "ecdn_m": "#4fa3c7"}
_EXTRA = ["#2a9d8f", "#8e6c8a", "#b8a04a", "#5b7d3a", "#c06c84", "#6c5b7b", "#355c7d"]
LABEL_WIDTH = 24                # characters: longer labels are wrapped onto two lines


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "legend.fontsize": 6.5,
                         "xtick.labelsize": 7, "ytick.labelsize": 7, "svg.hashsalt": "srbench",
                         "pdf.compression": 9})
    return plt


def color_for(model: str, index: int = 0) -> str:
    return MODEL_COLORS.get(model, _EXTRA[index % len(_EXTRA)])


def wrap_label(text: str, width: int = LABEL_WIDTH) -> str:
    """A label of more than ``width`` characters broken onto two lines at the space nearest its middle."""
    text = " ".join(str(text).split())
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if len(text) <= width or not spaces:
        return text
    i = min(spaces, key=lambda s: (abs(s - len(text) / 2), s))
    return text[:i] + "\n" + text[i + 1:]


def save(fig, out_dir: Path, stem: str, *, dpi: int = 200, limit: int = PNG_LIMIT, tight: bool = True) -> list[Path]:
    """Write ``<stem>.png`` (lowering the resolution until it is at most ``limit`` bytes) and ``<stem>.pdf``;
    ``tight`` trims the figure to its content (else it is saved at its own size)."""
    plt = _plt()
    out_dir.mkdir(parents=True, exist_ok=True)
    bbox = {"bbox_inches": "tight", "pad_inches": 0.04} if tight else {}
    while True:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, pil_kwargs={"optimize": True}, **bbox)
        if buf.tell() <= limit or dpi <= 60:
            break
        # the size grows about as dpi^2: aim just under the limit (at least 5 % lower each time)
        dpi = max(60, min(int(dpi * 0.95), int(dpi * 0.97 * math.sqrt(limit / buf.tell()))))
    png = out_dir / f"{stem}.png"
    png.write_bytes(buf.getvalue())
    pdf = out_dir / f"{stem}.pdf"
    fig.savefig(pdf, format="pdf", dpi=PDF_IMAGE_DPI, metadata={"CreationDate": None, "Producer": None,
                                                               "Creator": None}, **bbox)
    plt.close(fig)
    return [png, pdf]


def _plain_log_axis(axis) -> None:
    """Log-axis ticks at 1, 2, 5 x 10^k written as plain numbers (10, 20, 50, 100), no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _nice_floor(v: float) -> float:
    """The largest of 1, 2, 5 x 10^k that is <= v."""
    e = math.floor(math.log10(v))
    return max(m * 10.0 ** e for m in (1, 2, 5) if m * 10.0 ** e <= v * (1 + 1e-9))


def _nice_ceil(v: float) -> float:
    """The smallest of 1, 2, 5, 10 x 10^k that is >= v."""
    e = math.floor(math.log10(v))
    return min(m * 10.0 ** e for m in (1, 2, 5, 10) if m * 10.0 ** e >= v * (1 - 1e-9))


# ------------------------------------------------------------------------------------------------------ bubble chart
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


@dataclass
class _Candidate:
    box: tuple[float, float, float, float]     # x0, y0, x1, y1 in display pixels
    offset: tuple[float, float]                # from the bubble centre, in points
    ha: str
    va: str
    anchor: tuple[float, float]                # the box point facing the bubble (start of the leader line)
    leader: bool
    preference: float


def _box_point_distance(box, x: float, y: float) -> float:
    dx = max(box[0] - x, 0.0, x - box[2])
    dy = max(box[1] - y, 0.0, y - box[3])
    return math.hypot(dx, dy)


def _overlap_area(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _segment_hits_box(p, q, box) -> bool:
    """Whether the segment p-q passes through the rectangle (Liang-Barsky clipping)."""
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for d, lo, hi, start in ((dx, box[0], box[2], p[0]), (dy, box[1], box[3], p[1])):
        if abs(d) < 1e-12:
            if start < lo or start > hi:
                return False
            continue
        a, b = (lo - start) / d, (hi - start) / d
        if a > b:
            a, b = b, a
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return False
    return True


def _segments_cross(p1, p2, q1, q2) -> bool:
    def orient(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


# Directions tried around a bubble (degrees, in order of preference: right, left, the diagonals, above, below ...).
_NEAR_DIRECTIONS = (0, 180, 35, -35, 145, -145, 90, -90, 62, -62, 118, -118)
_FAR_DIRECTIONS = _NEAR_DIRECTIONS + (15, -15, 165, -165, 50, -50, 130, -130, 78, -78, 102, -102)
# Where the box may slide along the side it touches: the fraction of the box on the far side of the anchor.
_SLIDES = (0.5, 0.8, 0.2, 0.95, 0.05)


def _candidates(i: int, centres, radii, size, px_per_pt: float, rings: int = 14) -> list[_Candidate]:
    """Label positions around bubble ``i``: next to it (no leader line) when the label is then nearer to it than to
    any other bubble, and on rings further out (joined to it by a leader line). A box straight above, below, left
    or right of the bubble may also slide along that side."""
    cx, cy = centres[i]
    r = radii[i]
    w, h = size
    gap = 2.5 * px_per_pt
    step = max(h, 9 * px_per_pt)
    out = []
    for k in range(rings):
        dist = r + gap + k * step
        rank = 0
        for deg in _NEAR_DIRECTIONS if k < 3 else _FAR_DIRECTIONS:
            ux, uy = math.cos(math.radians(deg)), math.sin(math.radians(deg))
            ax_, ay_ = cx + dist * ux, cy + dist * uy
            side = deg in (0, 180, 90, -90)
            for slide in _SLIDES if side else (0.5,):
                if ux > 0.3:
                    x0, ha = ax_, "left"
                elif ux < -0.3:
                    x0, ha = ax_ - w, "right"
                else:
                    x0, ha = ax_ - w * slide, ("center" if slide == 0.5 else "left")
                if uy > 0.3:
                    y0, va = ay_, "bottom"
                elif uy < -0.3:
                    y0, va = ay_ - h, "top"
                else:
                    y0, va = ay_ - h * slide, ("center" if slide == 0.5 else "bottom")
                box = (x0, y0, x0 + w, y0 + h)
                rank += 1
                leader = k > 0
                if not leader:   # next to its bubble: it must then be clearly nearer to it than to any other
                    own = _box_point_distance(box, cx, cy) - r
                    others = [_box_point_distance(box, *centres[j]) - radii[j] for j in range(len(centres))
                              if j != i]
                    if others and min(others) <= own + 2 * px_per_pt:
                        continue
                # the text is anchored at (x, y) with alignment (ha, va); offset from the bubble centre in points
                tx = {"left": x0, "center": x0 + w / 2, "right": x0 + w}[ha]
                ty = {"bottom": y0, "center": y0 + h / 2, "top": y0 + h}[va]
                out.append(_Candidate(box=box, offset=((tx - cx) / px_per_pt, (ty - cy) / px_per_pt), ha=ha,
                                      va=va, anchor=(ax_, ay_), leader=leader, preference=k * 25.0 + rank))
    return out


def place_labels(centres, radii, sizes, area, obstacles=(), px_per_pt: float = 1.0) -> list[_Candidate]:
    """Choose a position for each bubble's label (display pixels), deterministically.

    Each label gets candidate boxes around its bubble (:func:`_candidates`); the cost of a box adds a huge penalty
    for overlapping another label or an obstacle (fixed texts) or leaving ``area`` (the axes), a smaller one for
    covering another bubble or for a leader line through a label or across another leader, and a preference for
    near, right-hand positions. Labels are placed greedily (the most crowded bubbles first), then each label in
    turn is moved to its best box given all the others, until no label moves: an iterative repulsion in display
    coordinates measured with the renderer's own text extents."""
    n = len(centres)
    pad = 1.5 * px_per_pt
    inner = (area[0] + pad, area[1] + pad, area[2] - pad, area[3] - pad)

    def padded(b):
        return (b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)

    def fixed_cost(i: int, c: _Candidate) -> float:
        """The part of a box's cost that does not depend on the other labels."""
        box = c.box
        total = c.preference + (40.0 if c.leader else 0.0)
        outside = (box[2] - box[0]) * (box[3] - box[1]) - _overlap_area(box, inner)
        if outside > 0.5:
            total += 1e6 + outside
        for ob in obstacles:
            ov = _overlap_area(padded(box), ob)
            if ov > 0:
                total += 1e6 + ov
        for j in range(n):
            if j == i:
                continue
            depth = radii[j] + pad - _box_point_distance(box, *centres[j])
            if depth > 0:   # the label covers part of another bubble
                total += 2e3 + 50.0 * depth
            if c.leader and math.hypot(centres[j][0] - centres[i][0], centres[j][1] - centres[i][1]) > 1.0 \
                    and _segment_circle(c.anchor, centres[i], centres[j], 0.7 * radii[j]):
                total += 300.0   # the leader line runs across another bubble
        return total

    def label_cost(i: int, c: _Candidate, chosen: dict[int, _Candidate]) -> float:
        """The part that depends on the other labels' current boxes and leader lines (never negative)."""
        box, total = c.box, 0.0
        for j, other in chosen.items():
            if j == i:
                continue
            ov = _overlap_area(padded(box), other.box)
            if ov > 0:
                total += 1e6 + ov
            if c.leader and _segment_hits_box(c.anchor, centres[i], other.box):
                total += 3e4
            if other.leader and _segment_hits_box(other.anchor, centres[j], box):
                total += 3e4
            if c.leader and other.leader and _segments_cross(c.anchor, centres[i], other.anchor, centres[j]):
                total += 2e3
        return total

    # candidates sorted by their fixed cost (stable: ties keep the order of preference), so the search for the best
    # box can stop at the first candidate whose fixed cost alone exceeds the best total found
    ranked = []
    for i in range(n):
        cands = _candidates(i, centres, radii, sizes[i], px_per_pt)
        ranked.append(sorted(((fixed_cost(i, c), k, c) for k, c in enumerate(cands)), key=lambda t: (t[0], t[1])))

    def best(i: int, chosen: dict[int, _Candidate]) -> tuple[float, _Candidate]:
        top, pick = math.inf, None
        for fixed, _, c in ranked[i]:
            if fixed >= top:
                break
            total = fixed + label_cost(i, c, chosen)
            if total < top:
                top, pick = total, c
        return top, pick

    crowd = [sum(math.hypot(centres[j][0] - centres[i][0], centres[j][1] - centres[i][1]) < 60 * px_per_pt
                 for j in range(n)) for i in range(n)]
    order = sorted(range(n), key=lambda i: (-crowd[i], i))
    chosen: dict[int, _Candidate] = {}
    for i in order:
        chosen[i] = best(i, chosen)[1]
    for _ in range(25):
        moved = False
        for i in order:
            now = next(f for f, _, c in ranked[i] if c is chosen[i]) + label_cost(i, chosen[i], chosen)
            value, pick = best(i, chosen)
            if pick is not chosen[i] and value < now - 1e-9:
                chosen[i] = pick
                moved = True
        if not moved:
            break
    return [chosen[i] for i in range(n)]


def _segment_circle(p, q, c, r) -> bool:
    """Whether the segment p-q passes within ``r`` of ``c``."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    L2 = dx * dx + dy * dy
    t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((c[0] - p[0]) * dx + (c[1] - p[1]) * dy) / L2))
    return math.hypot(p[0] + t * dx - c[0], p[1] + t * dy - c[1]) < r


def _fit_limits(lo: float, hi: float, values, radii_pt, length_pt: float, margin_pt: float):
    """Widen [lo, hi] (in axis units, linear) until every bubble (centre, radius in points) lies inside with a
    margin, given the axis length in points."""
    for _ in range(8):
        per_pt = (hi - lo) / max(length_pt, 1.0)
        lo = min([lo] + [v - (r + margin_pt) * per_pt for v, r in zip(values, radii_pt)])
        hi = max([hi] + [v + (r + margin_pt) * per_pt for v, r in zip(values, radii_pt)])
    return lo, hi


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
    plt = _plt()
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
    radii_pt = [math.sqrt(s) / 2.0 + e for s, e in zip(sizes_pt2, edge_pt)]

    return radii_pt


def _bubble_axes(ax, pts: list[dict], *, dataset: str, scale: int, protocol: str, bn_mode: str,
                 variants: bool, measure_out: str) -> None:
    """Log x axis with plain-number ticks, limits around the points, labels, title and grid."""
    ax.set_xscale("log")
    xs = [p["mult_adds_g"] for p in pts]
    ys = [p["psnr"] for p in pts]
    if pts:
        ax.set_xlim(_nice_floor(min(xs) / 1.4), _nice_ceil(max(xs) * 1.5))
        span = max(max(ys) - min(ys), 0.3)
        ax.set_ylim(min(ys) - 0.3 * span, max(ys) + 0.3 * span)
    _plain_log_axis(ax.xaxis)
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


def bubble_chart(points: list[dict], *, dataset: str, scale: int, out_dir: Path, stem: str,
                 bicubic_psnr: float | None = None, protocol: str = "standard", bn_mode: str = "eval",
                 variants: bool = False, measure_out: str = "720x1280") -> list[Path]:
    """:func:`bubble_figure`, written as ``<stem>.png`` and ``<stem>.pdf``."""
    return save(bubble_figure(points, dataset=dataset, scale=scale, bicubic_psnr=bicubic_psnr, protocol=protocol,
                              bn_mode=bn_mode, variants=variants, measure_out=measure_out), out_dir, stem)


# ------------------------------------------------------------------------------------------------------- crop grids
def _fmt_pair(psnr, ssim) -> str | None:
    if psnr is None or not np.isfinite(psnr):
        return None
    return f"{psnr:.2f}" + ("" if ssim is None or not np.isfinite(ssim) else f" / {ssim:.4f}")


def crop_caption(tile: dict) -> str:
    """A tile's caption: its label (wrapped), then ``crop PSNR / SSIM`` and ``image PSNR / SSIM`` when known (PSNR in
    dB; the figure's note says on which channel)."""
    lines = [wrap_label(tile["label"])]
    crop = _fmt_pair(tile.get("psnr"), tile.get("ssim"))
    if crop:
        lines.append(f"crop {crop}")
    image = _fmt_pair(tile.get("image_psnr"), tile.get("image_ssim"))
    if image:
        lines.append(f"image {image}")
    return "\n".join(lines)


def crop_figure(hr: np.ndarray, box: tuple[int, int, int, int], tiles: list[dict], *, title: str, note: str = "",
                dpi: int = CROP_DPI):
    """The layout of the ECDN report's Figures 3-5; returns the Figure.

    The HR image with the crop box drawn on the left, then the same crop from every model in rows of at most four,
    magnified by an integer factor with nearest-neighbour so that, at ``dpi``, each tile is at least
    ``MIN_TILE_PX`` pixels wide (texture visible) and exactly ``k`` PNG pixels per crop pixel (positions are snapped
    to the pixel grid, which also keeps the PNG small). Each tile is captioned with its label (wrapped onto two lines
    when long) and the crop's and the whole image's PSNR/SSIM; the figure is sized from the number of tiles and the
    measured caption extents (a tile is at least as wide as the widest caption), so no caption overlaps another or
    an image. The HR panel is as tall as the grid where the page width allows, at most ``HR_PIXELS`` pixels (less
    the tiles' own pixels) so the PNG stays under ``CROP_PNG_LIMIT``.

    ``hr``: uint8 HxWx3; ``box``: (top, left, h, w); ``tiles``: dicts with label, crop (uint8 hxwx3), psnr, and
    optionally ssim, image_psnr, image_ssim. Tile axes carry gids ``crop-tile-<i>``, the HR axes ``crop-hr``."""
    plt = _plt()
    top, left, h, w = box
    n = max(len(tiles), 1)
    fs = 6.0
    captions = [crop_caption(t) for t in tiles]
    fig = plt.figure(figsize=(PAGE_WIDTH, 3.0))
    renderer = fig.canvas.get_renderer()

    def measure(text: str, **kw) -> tuple[float, float]:
        t = fig.text(0, 0, text, **kw)
        e = t.get_window_extent(renderer)
        t.remove()
        return e.width / fig.dpi, e.height / fig.dpi

    def snap(v: float) -> float:   # inches, to a whole number of pixels at ``dpi``
        return round(v * dpi) / dpi

    cap_kw = {"fontsize": fs, "linespacing": 1.15, "ha": "center", "va": "top"}
    cap_sizes = [measure(c, **cap_kw) for c in captions] or [(0.0, 0.0)]
    cap_w = max(s[0] for s in cap_sizes)
    cap_h = max(s[1] for s in cap_sizes)
    title_h = measure(title, fontsize=8.5)[1]
    note_h = measure(note, fontsize=6)[1] if note else 0.0
    hr_cap_h = measure("HR", fontsize=7)[1] + 0.04

    margin, hr_gap, row_gap, cap_pad, gap, hr_min = 0.04, 0.14, 0.08, 0.03, 0.08, 1.2
    head = title_h + (note_h + 0.03 if note else 0.0) + 0.08
    avail = PAGE_WIDTH - 2 * margin
    # the magnification k: integer, tile >= MIN_TILE_PX pixels and at least as wide as every caption
    k = max(1, math.ceil(MIN_TILE_PX / w), math.ceil((cap_w + 0.03) * dpi / w))
    t = min(k * w / dpi, 1.6) if k > 1 else min(w / dpi, 1.6)
    t = max(t, cap_w + 0.03)
    th = snap(t * h / w)
    t = snap(t)
    ncols = 1
    balanced = math.ceil(n / math.ceil(n / 4))   # at most four tiles a row, rows as even as possible
    for cols in range(balanced, 0, -1):            # fewer when the HR panel would get too narrow
        if cols * t + (cols - 1) * gap + hr_gap + hr_min <= avail:
            ncols = cols
            break
    nrows = math.ceil(n / ncols)
    grid_w = ncols * t + (ncols - 1) * gap
    grid_h = nrows * (th + cap_pad + cap_h) + (nrows - 1) * row_gap
    hr_aspect = hr.shape[1] / hr.shape[0]     # width / height
    budget = max(HR_PIXELS - n * h * w, HR_PIXELS // 4)
    hr_w = min(avail - hr_gap - grid_w,                       # the page width
               hr_aspect * max(grid_h - hr_cap_h, th),       # as tall as the grid
               math.sqrt(budget * hr_aspect) / dpi,          # the pixel budget
               2 * hr.shape[1] / dpi)                        # at most 2x upsampling
    hr_w = snap(max(hr_w, 0.5))
    hr_h = snap(hr_w / hr_aspect)
    body = max(grid_h, hr_h + hr_cap_h)
    height = snap(margin + head + body + margin)
    fig.set_size_inches(PAGE_WIDTH, height)

    layout = SimpleNamespace(height=height, dpi=dpi, k=k, t=t, th=th, gap=gap, ncols=ncols, hr_w=hr_w, hr_h=hr_h,
                             hr_gap=hr_gap, hr_cap_h=hr_cap_h, grid_w=grid_w, grid_h=grid_h, body=body, head=head,
                             avail=avail, margin=margin, cap_pad=cap_pad, cap_h=cap_h, row_gap=row_gap,
                             title_h=title_h, cap_kw=cap_kw)
    _draw_crop_grid(fig, hr, box, tiles, captions, layout, title=title, note=note)
    return fig


def _draw_crop_grid(fig, hr: np.ndarray, box: tuple[int, int, int, int], tiles: list[dict], captions: list[str],
                    layout: SimpleNamespace, *, title: str, note: str) -> None:
    """Draw the HR panel with its box and the captioned tiles at the positions :func:`crop_figure` computed."""
    from matplotlib.patches import Rectangle

    top, left, h, w = box
    L = layout
    height, dpi, k, t, th, gap, ncols = L.height, L.dpi, L.k, L.t, L.th, L.gap, L.ncols
    hr_w, hr_h, hr_gap, hr_cap_h, grid_w, grid_h, body = L.hr_w, L.hr_h, L.hr_gap, L.hr_cap_h, L.grid_w, L.grid_h, L.body
    avail, margin, head, cap_pad, cap_h, row_gap, title_h, cap_kw = (L.avail, L.margin, L.head, L.cap_pad, L.cap_h,
                                                                     L.row_gap, L.title_h, L.cap_kw)

    def snap(v: float) -> float:
        return round(v * dpi) / dpi

    def axes_at(x: float, y_top: float, width: float, h_in: float):   # inches from the left and from the top
        x, y0 = snap(x), snap(height - y_top - h_in)
        return fig.add_axes((x / PAGE_WIDTH, y0 / height, width / PAGE_WIDTH, h_in / height))

    x_hr = margin + max(0.0, (avail - hr_w - hr_gap - grid_w) / 2)   # the whole block centred on the page
    body_top = margin + head
    hr_top = body_top + (body - hr_h - hr_cap_h) / 2
    ax = axes_at(x_hr, hr_top, hr_w, hr_h)
    ax.set_gid("crop-hr")
    ax.imshow(hr, interpolation="antialiased", aspect="auto")
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, edgecolor="#ff2020", linewidth=1.2))
    ax.set_xticks([])
    ax.set_yticks([])
    fig.text((x_hr + hr_w / 2) / PAGE_WIDTH, (height - hr_top - hr_h - 0.04) / height, "HR", fontsize=7,
             ha="center", va="top")
    x0 = x_hr + hr_w + hr_gap
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        x = x0 + c * (t + gap)
        y = body_top + (body - grid_h) / 2 + r * (th + cap_pad + cap_h + row_gap)
        a = axes_at(x, y, t, th)
        a.set_gid(f"crop-tile-{i}")
        crop = np.asarray(tile["crop"])
        a.imshow(np.repeat(np.repeat(crop, k, axis=0), k, axis=1), interpolation="none", aspect="auto")
        a.set_xticks([])
        a.set_yticks([])
        for spine in a.spines.values():
            spine.set_linewidth(0.5)
            spine.set_color("#888888")
        fig.text((x + t / 2) / PAGE_WIDTH, (height - y - th - cap_pad) / height, captions[i], **cap_kw)
    fig.text(0.5, (height - margin) / height, title, fontsize=8.5, ha="center", va="top")
    if note:
        fig.text(0.5, (height - margin - title_h - 0.03) / height, note, fontsize=6, ha="center", va="top",
                 color="#444444")


def crop_grid(hr: np.ndarray, box: tuple[int, int, int, int], tiles: list[dict], *, title: str, out_dir: Path,
              stem: str, note: str = "") -> list[Path]:
    """:func:`crop_figure`, written as PNG at ``CROP_DPI`` (lower only if the PNG would exceed ``CROP_PNG_LIMIT``;
    the figure is not trimmed, so the tiles stay on the pixel grid) and PDF."""
    fig = crop_figure(hr, box, tiles, title=title, note=note, dpi=CROP_DPI)
    return save(fig, out_dir, stem, dpi=CROP_DPI, limit=CROP_PNG_LIMIT, tight=False)


# --------------------------------------------------------------------------------------------------- training curves
def training_curves(runs: list[dict], *, out_dir: Path, stem: str, title: str = "Training curves") -> list[Path]:
    """Loss and validation PSNR against step, one colour per run, one line style per validation key.

    ``runs``: dicts with label, loss (frame step/value or None), val ({key: frame step/value})."""
    plt = _plt()
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 2.8))
    styles = ["-", "--", ":", "-."]
    val_keys = sorted({k for r in runs for k in r.get("val", {})})
    for i, r in enumerate(runs):
        c = _EXTRA[i % len(_EXTRA)]
        loss = r.get("loss")
        if loss is not None and len(loss):
            ax_loss.plot(loss["step"], loss["value"], color=c, linewidth=0.9, label=r["label"])
        for k, frame in sorted(r.get("val", {}).items()):
            if len(frame):
                ax_val.plot(frame["step"], frame["value"], color=c, linestyle=styles[val_keys.index(k) % 4],
                            marker="o", markersize=2, linewidth=0.9,
                            label=f"{r['label']} {k.split('.', 1)[-1]}")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss")
    if any(r.get("loss") is not None and len(r["loss"]) and (r["loss"]["value"] > 0).all() for r in runs):
        ax_loss.set_yscale("log")
        _plain_log_axis(ax_loss.yaxis)
    ax_val.set_xlabel("step")
    ax_val.set_ylabel("validation PSNR (dB)")
    for a in (ax_loss, ax_val):
        a.grid(True, color="#dddddd", linewidth=0.5)
        if a.get_legend_handles_labels()[0]:
            a.legend(loc="best", frameon=False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, out_dir, stem)


# ---------------------------------------------------------------------------------------------------------- ablations
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
    return (_nice_floor(min(v) / 1.3), _nice_ceil(max(v) * 1.3)) if v else None


def ablation_group_figure(points: list[dict], datasets: list[str], *, title: str):
    """Two panels against group size: PSNR (one line per series and dataset, error bars where a point gives a seed
    spread) and params / Mult-Adds / latency (one log axis, not twin axes); a small legend below. Returns the
    Figure.

    ``points``: dicts with x (the group), series (label of the other swept values, "" for none), psnr ({dataset:
    value}), optional psnr_std ({dataset: std over seeds}), params, mult_adds_g, latency_ms, baseline (bool)."""
    plt = _plt()
    from matplotlib.lines import Line2D
    fig, (ax, ax_e) = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 2.9), gridspec_kw={"width_ratios": [1.15, 1.0]})
    xs = sorted({p["x"] for p in points}, key=lambda v: (float(v) if _isnum(v) else math.inf, str(v)))
    pos = {x: i for i, x in enumerate(xs)}
    series = list(dict.fromkeys(p["series"] for p in points))
    metrics = _efficiency_metrics(points)
    for si, name in enumerate(series):
        c = _EXTRA[si % len(_EXTRA)]
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
    base = {p["x"] for p in points if p.get("baseline")}
    for a in (ax, ax_e):
        a.set_xticks(range(len(xs)))
        a.set_xticklabels([f"{x}" + ("*" if x in base else "") for x in xs])
        a.set_xlabel("group size (* = baseline)")
        a.grid(True, color="#e2e2e2", linewidth=0.5)
        a.set_xlim(-0.4, len(xs) - 0.6)
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title)
    if metrics:
        ax_e.set_yscale("log")
        ax_e.set_ylim(*_log_limits([_value(p.get(m[0])) / m[1] for p in points for m in metrics]))
        _plain_log_axis(ax_e.yaxis)
        ax_e.set_ylabel("value (log scale; units in the legend)")
    else:
        ax_e.text(0.5, 0.5, "no efficiency metrics logged", transform=ax_e.transAxes, ha="center", fontsize=7)
    ax_e.set_title("params / Mult-Adds / latency")
    series_row = ([Line2D([], [], color=_EXTRA[si % len(_EXTRA)], linewidth=1.5) for si in range(len(series))],
                  [wrap_label(name or "(no series)", 30) for name in series]) if any(series) else ([], [])
    kinds = ([Line2D([], [], color="#666666", linestyle=_DATASET_STYLES[di % 4], linewidth=1.0)
              for di in range(len(datasets))], [f"PSNR {d}" for d in datasets])
    for _, _, lab, marker, _ in metrics:
        kinds[0].append(Line2D([], [], color="#666666", marker=marker, markersize=3.5, linewidth=0.9))
        kinds[1].append(lab)
    _bottom_legends(fig, [series_row, kinds])
    return fig


def ablation_group_plot(points: list[dict], datasets: list[str], *, title: str, out_dir: Path,
                        stem: str) -> list[Path]:
    """:func:`ablation_group_figure`, written as PNG and PDF."""
    return save(ablation_group_figure(points, datasets, title=title), out_dir, stem)


def ablation_category_figure(points: list[dict], datasets: list[str], *, title: str):
    """Two panels, one row per point (e.g. per loss): PSNR per dataset as dots with seed-spread error bars where
    given (the axis is zoomed to the values), and params / Mult-Adds / latency on one log axis; point labels on the
    left (wrapped), a small legend below. Returns the Figure.

    ``points``: dicts with label, psnr ({dataset: value}), optional psnr_std, params, mult_adds_g, latency_ms,
    baseline (bool)."""
    plt = _plt()
    from matplotlib.lines import Line2D
    labels = [wrap_label(p["label"] + (" *" if p.get("baseline") else ""), 30) for p in points]
    lines = max([lab.count("\n") + 1 for lab in labels] or [1])
    row = max(0.26, 0.13 * lines + 0.08)
    fig, (ax, ax_e) = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 1.25 + row * max(len(points), 1)), sharey=True,
                                   gridspec_kw={"width_ratios": [1.3, 1.0]})
    metrics = _efficiency_metrics(points)
    y = np.arange(len(points), dtype=float)
    nd = max(len(datasets), 1)
    vals = []
    for j, d in enumerate(datasets):
        off = (j - (nd - 1) / 2) * min(0.18, 0.6 / nd)
        xv = [_value(p["psnr"].get(d)) for p in points]
        err = [_value((p.get("psnr_std") or {}).get(d)) for p in points]
        # the axis spans the error bars too, so that no bar is cut at the frame
        vals += [v + sign * (e if np.isfinite(e) else 0.0) for v, e in zip(xv, err) if np.isfinite(v)
                 for sign in (-1.0, 1.0)]
        style = {"color": _EXTRA[j % len(_EXTRA)], "marker": _DATASET_MARKERS[j % 5], "markersize": 4,
                 "linestyle": "none"}
        if any(np.isfinite(err)):
            ax.errorbar(xv, y + off, xerr=np.nan_to_num(err), capsize=2, elinewidth=0.7, **style)
        else:
            ax.plot(xv, y + off, **style)
    if vals:
        lo, hi = min(vals), max(vals)
        span = max(hi - lo, 0.1)
        ax.set_xlim(lo - 0.12 * span, hi + 0.12 * span)
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
    if metrics:
        ax_e.set_xscale("log")
        ax_e.set_xlim(*_log_limits([_value(p.get(m[0])) / m[1] for p in points for m in metrics]))
        _plain_log_axis(ax_e.xaxis)
        ax_e.set_xlabel("value (log scale; units in the legend)")
    else:
        ax_e.text(0.5, 0.5, "no efficiency metrics logged", transform=ax_e.transAxes, ha="center", fontsize=7)
    ax_e.set_title("params / Mult-Adds / latency")
    handles = [Line2D([], [], color=_EXTRA[j % len(_EXTRA)], marker=_DATASET_MARKERS[j % 5], markersize=4,
                      linestyle="none") for j in range(len(datasets))]
    names = [f"PSNR {d}" for d in datasets]
    for _, _, lab, marker, color in metrics:
        handles.append(Line2D([], [], color=color, marker=marker, markersize=4, linestyle="none"))
        names.append(lab)
    _bottom_legends(fig, [(handles, names)])
    return fig


def ablation_category_plot(points: list[dict], datasets: list[str], *, title: str, out_dir: Path,
                           stem: str) -> list[Path]:
    """:func:`ablation_category_figure`, written as PNG and PDF."""
    return save(ablation_category_figure(points, datasets, title=title), out_dir, stem)
