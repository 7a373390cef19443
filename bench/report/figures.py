"""The report's figures (matplotlib, Agg): PNG (well under 300 KiB) and PDF, sized for a paper column or page.

Every function takes plain data (lists of dicts, arrays) so it can be tested without MLflow, and returns the paths it
wrote. Output is deterministic: no dates in the PDF metadata, fixed layout and colours.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

PNG_LIMIT = 250 * 1024          # bytes; the PNG is re-rendered at a lower resolution until it fits
PAGE_WIDTH = 7.0                # inches: a two-column paper's full text width
MODEL_COLORS = {"bicubic": "#7f7f7f", "carn": "#9b2d30", "carn_m": "#d1603d", "ecdn": "#1f5f8b",
                "ecdn_m": "#4fa3c7"}
_EXTRA = ["#2a9d8f", "#8e6c8a", "#b8a04a", "#5b7d3a", "#c06c84", "#6c5b7b", "#355c7d"]


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7,
                         "xtick.labelsize": 7, "ytick.labelsize": 7, "svg.hashsalt": "srbench",
                         "pdf.compression": 9})
    return plt


def color_for(model: str, index: int = 0) -> str:
    return MODEL_COLORS.get(model, _EXTRA[index % len(_EXTRA)])


def save(fig, out_dir: Path, stem: str, dpi: int = 200) -> list[Path]:
    """Write ``<stem>.png`` (shrinking the resolution until it is under ``PNG_LIMIT``) and ``<stem>.pdf``."""
    plt = _plt()
    out_dir.mkdir(parents=True, exist_ok=True)
    while True:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight", pad_inches=0.04)
        if buf.tell() <= PNG_LIMIT or dpi <= 60:
            break
        dpi = int(dpi * 0.8)
    png = out_dir / f"{stem}.png"
    png.write_bytes(buf.getvalue())
    pdf = out_dir / f"{stem}.pdf"
    fig.savefig(pdf, format="pdf", metadata={"CreationDate": None, "Producer": None, "Creator": None},
                bbox_inches="tight", pad_inches=0.04)
    plt.close(fig)
    return [png, pdf]


# ------------------------------------------------------------------------------------------------------ bubble chart
def _nice_sizes(pmax: float) -> list[float]:
    candidates = [50e3, 100e3, 300e3, 700e3, 1.5e6, 3e6, 5e6, 10e6]
    keep = [c for c in candidates if c <= pmax * 1.05]
    return keep[-3:] if len(keep) >= 3 else (keep or [pmax])


def _plain_log_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _separate_labels(fig, labels, step_pt: float = 1.5, rounds: int = 60) -> None:
    """Move overlapping point labels apart vertically (the one whose point is lower moves down), deterministically."""
    renderer = fig.canvas.get_renderer()
    for _ in range(rounds):
        moved = False
        boxes = [lab.get_window_extent(renderer).padded(1.5) for lab in labels]
        for i in range(len(labels)):
            for j in range(i):
                if boxes[i].overlaps(boxes[j]):
                    direction = -1.0 if labels[i].xy[1] <= labels[j].xy[1] else 1.0
                    x, y = labels[i].xyann
                    labels[i].xyann = (x, y + direction * step_pt)
                    x, y = labels[j].xyann
                    labels[j].xyann = (x, y - direction * step_pt)
                    boxes[i] = labels[i].get_window_extent(renderer).padded(1.5)
                    boxes[j] = labels[j].get_window_extent(renderer).padded(1.5)
                    moved = True
        if not moved:
            break


def bubble_chart(points: list[dict], *, dataset: str, scale: int, out_dir: Path, stem: str,
                 bicubic_psnr: float | None = None, protocol: str = "standard") -> list[Path]:
    """PSNR against Mult-Adds (log x), bubble area proportional to parameters, every point labelled.

    ``points``: dicts with label, model, psnr, mult_adds_g, params, published (bool). Published points are hollow
    and labelled "(published)"; measured ones are filled. Measured bicubic (no Mult-Adds) is a dashed line."""
    plt = _plt()
    pts = [p for p in points if p.get("mult_adds_g") and p["mult_adds_g"] > 0 and p.get("params")]
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 3.0))
    pmax = max([p["params"] for p in pts], default=1e6)
    area = 900.0 / max(pmax, 1.5e6)  # points^2 per parameter: the same scale whatever the models (CARN ~ 900)

    labels = []
    for i, p in enumerate(pts):
        c = color_for(p.get("model", ""), i)
        s = p["params"] * area
        if p.get("published"):
            ax.scatter(p["mult_adds_g"], p["psnr"], s=s, facecolors="none", edgecolors=c, linewidths=1.5, zorder=3)
        else:
            ax.scatter(p["mult_adds_g"], p["psnr"], s=s, color=c, alpha=0.8, edgecolors="white", linewidths=1.0,
                       zorder=4)
        ax.scatter(p["mult_adds_g"], p["psnr"], s=4, color="white" if not p.get("published") else c, zorder=5)
        radius = math.sqrt(s) / 2.0
        published = bool(p.get("published"))
        labels.append(ax.annotate(
            p["label"] + (" (published)" if published else ""), (p["mult_adds_g"], p["psnr"]),
            xytext=(radius + 3, 0), textcoords="offset points", ha="left", va="center", fontsize=7,
            fontweight="normal" if published else "bold", color="#333333", zorder=6))
    ax.set_xscale("log")
    lo = hi = None
    if pts:
        xs = [p["mult_adds_g"] for p in pts]
        ys = [p["psnr"] for p in pts]
        ax.set_xlim(min(xs) / 1.6, max(xs) * 3.0)
        span = max(max(ys) - min(ys), 0.3)
        lo, hi = min(ys) - 0.5 * span, max(ys) + 0.5 * span
        ax.set_ylim(lo, hi)
    if bicubic_psnr is not None:
        if lo is None or lo <= bicubic_psnr <= hi:
            ax.axhline(bicubic_psnr, color=MODEL_COLORS["bicubic"], linestyle="--", linewidth=0.9, zorder=1)
            ax.annotate(f"bicubic (measured) {bicubic_psnr:.2f} dB", (0.01, bicubic_psnr),
                        xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points", fontsize=7,
                        color="#555555")
        else:
            ax.annotate(f"bicubic (measured): {bicubic_psnr:.2f} dB, {'below' if bicubic_psnr < lo else 'above'} "
                        "this range", (0.01, 0.02), xycoords="axes fraction", fontsize=7, color="#555555")
    _plain_log_axis(ax.xaxis)
    ax.set_xlabel("Mult-Adds (G, 1280x720 output)")
    ax.set_ylabel(f"PSNR (dB), {dataset} x{scale}")
    ax.set_title(f"PSNR versus Mult-Adds, {dataset} x{scale}, protocol {protocol} (hollow: published)")
    ax.grid(True, which="major", color="#dddddd", linewidth=0.5, zorder=0)
    sizes = _nice_sizes(pmax)
    handles = [ax.scatter([], [], s=v * area, color="#bbbbbb", edgecolors="white") for v in sizes]
    ax.legend(handles, [f"{v / 1e3:,.0f}K" for v in sizes], title="# parameters", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), labelspacing=1.6, borderpad=1.0, frameon=False, scatterpoints=1)
    fig.tight_layout()
    _separate_labels(fig, labels)
    return save(fig, out_dir, stem)


# ------------------------------------------------------------------------------------------------------- crop grids
def crop_grid(hr: np.ndarray, box: tuple[int, int, int, int], tiles: list[dict], *, title: str, out_dir: Path,
              stem: str) -> list[Path]:
    """The HR image with the crop box drawn, then the same crop from every model (label and the crop's PSNR).

    ``hr``: uint8 HxWx3; ``box``: (top, left, h, w); ``tiles``: dicts with label, crop (uint8 hxwx3), psnr."""
    plt = _plt()
    from matplotlib.patches import Rectangle
    top, left, h, w = box
    n = max(len(tiles), 1)
    nrows = 1 if n <= 3 else 2
    ncols = math.ceil(n / nrows)
    tile_w = 1.0
    label_h = 0.32
    tile_h = tile_w * h / w
    height = nrows * (tile_h + label_h)
    hr_w = height * hr.shape[1] / hr.shape[0] * 0.95
    width = hr_w + ncols * tile_w * 1.05 + 0.2
    scale_in = PAGE_WIDTH / width
    fig = plt.figure(figsize=(PAGE_WIDTH, height * scale_in + 0.35))
    gs = fig.add_gridspec(nrows, ncols + 1, width_ratios=[hr_w] + [tile_w * 1.05] * ncols, wspace=0.05,
                          hspace=0.28, left=0.01, right=0.99, bottom=0.06, top=0.9)
    ax = fig.add_subplot(gs[:, 0])
    ax.imshow(hr, interpolation="lanczos")
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, edgecolor="#ff2020", linewidth=1.2))
    ax.set_xlabel("HR", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    for i, t in enumerate(tiles):
        a = fig.add_subplot(gs[i // ncols, 1 + i % ncols])
        a.imshow(t["crop"], interpolation="nearest")
        a.set_xticks([])
        a.set_yticks([])
        psnr = t.get("psnr")
        a.set_xlabel(t["label"] + ("" if psnr is None else f"\n{psnr:.2f} dB"), fontsize=7, linespacing=1.1)
    fig.suptitle(title, fontsize=9)
    return save(fig, out_dir, stem)


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
def ablation_group_plot(points: list[dict], datasets: list[str], *, title: str, out_dir: Path,
                        stem: str) -> list[Path]:
    """PSNR against group size (one line per series and dataset), parameters on a second axis (dashed, grey).

    ``points``: dicts with x (the group), series (label of the other swept values, "" for none), psnr
    ({dataset: value}), optional psnr_std ({dataset: error bar}), params, baseline (bool)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH / 2, 3.4))
    xs = sorted({p["x"] for p in points}, key=lambda v: (float(v) if _isnum(v) else math.inf, str(v)))
    pos = {x: i for i, x in enumerate(xs)}
    series = list(dict.fromkeys(p["series"] for p in points))
    ax2 = ax.twinx()
    markers = "osD^v<>"
    k = 0
    for si, name in enumerate(series):
        sp = [p for p in points if p["series"] == name]
        for d in datasets:
            ax.errorbar([pos[p["x"]] for p in sp], [p["psnr"].get(d, np.nan) for p in sp],
                        yerr=[p.get("psnr_std", {}).get(d, np.nan) for p in sp], capsize=2, elinewidth=0.8,
                        marker=markers[si % 7], markersize=3, linewidth=1.0, color=_EXTRA[k % len(_EXTRA)],
                        label=f"{name} {d}".strip())
            k += 1
        ax2.plot([pos[p["x"]] for p in sp], [(p.get("params") or np.nan) / 1e3 for p in sp], color="#777777",
                 linestyle="--", marker=markers[si % 7], markersize=3, linewidth=0.8,
                 label=f"{name} params".strip())
    base = {p["x"] for p in points if p.get("baseline")}
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([f"{x}" + ("*" if x in base else "") for x in xs])
    ax.set_xlabel("group size (* = baseline)")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(True, color="#dddddd", linewidth=0.5)
    ax2.set_ylabel("parameters (K)", color="#555555")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    # below the axes: with several series the lines fill the plot area
    ax.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False, fontsize=5.5)
    ax.set_title(title)
    fig.tight_layout()
    return save(fig, out_dir, stem)


def _isnum(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def ablation_bar_plot(points: list[dict], datasets: list[str], *, title: str, out_dir: Path, stem: str) -> list[Path]:
    """One bar group per point (e.g. per loss), one bar per dataset; the y axis is zoomed (it does not start at 0).

    ``points``: dicts with label, psnr ({dataset: value}), optional psnr_std ({dataset: error bar}), baseline."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH / 2, 2.6))
    n = max(len(datasets), 1)
    width = 0.8 / n
    vals = [p["psnr"].get(d) for p in points for d in datasets if p["psnr"].get(d) is not None]
    for j, d in enumerate(datasets):
        xs = [i - 0.4 + width * (j + 0.5) for i in range(len(points))]
        ys = [p["psnr"].get(d, np.nan) for p in points]
        ax.bar(xs, ys, width=width * 0.92, color=_EXTRA[j % len(_EXTRA)], label=d,
               yerr=[p.get("psnr_std", {}).get(d, np.nan) for p in points], capsize=2, error_kw={"elinewidth": 0.8})
    ax.set_xticks(range(len(points)))
    ax.set_xticklabels([p["label"] + ("*" if p.get("baseline") else "") for p in points], rotation=0, fontsize=6)
    if vals:
        lo, hi = min(vals), max(vals)
        span = max(hi - lo, 0.1)
        ax.set_ylim(lo - 0.5 * span, hi + 0.3 * span)
    ax.set_ylabel("PSNR (dB; axis does not start at 0)")
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.5)
    ax.legend(loc="best", frameon=False)
    ax.set_title(title + " (* = baseline)")
    fig.tight_layout()
    return save(fig, out_dir, stem)
