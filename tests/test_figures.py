"""The report's figures, rendered from fake data with long labels and checked with matplotlib's own text extents.

Layout checks use what matplotlib draws (``fig.canvas.draw()``, ``Text.get_window_extent(renderer)``, the bubbles'
offsets and sizes, the PNG's pixels), not the placement code's own bookkeeping.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.legend import Legend  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from srbench.report import figures as F  # noqa: E402

LONG = "ecdn_m (ecdn_m_half) [BN batch] very long label"
SOURCE = "Ahn et al., ECCV 2018"


def _m(label, model, weights, bn, psnr, madds, params):
    return {"label": label, "model": model, "weights": weights, "bn_mode": bn, "psnr": psnr, "mult_adds_g": madds,
            "params": params, "published": False}


# Like the real Set14 x4 chart (released, *_half and BN-batch rows, published CARN / CARN-M, coincident bubbles),
# plus long labels.
POINTS = [
    _m("carn_m", "carn_m", "carn_m", "eval", 28.42, 32.5, 414_811),
    _m("carn_m (carn_m_half)", "carn_m", "carn_m_half", "eval", 28.06, 32.5, 414_811),
    _m("ecdn", "ecdn", "ecdn", "eval", 28.34, 40.5, 694_555),
    _m("ecdn [BN batch]", "ecdn", "ecdn", "batch", 27.33, 40.5, 694_555),
    _m("ecdn (ecdn_half) very long label for a bubble", "ecdn", "ecdn_half", "eval", 28.23, 40.5, 694_555),
    _m("ecdn (ecdn_half) [BN batch]", "ecdn", "ecdn_half", "batch", 27.67, 40.5, 694_555),
    _m("ecdn_m", "ecdn_m", "ecdn_m", "eval", 27.66, 44.8, 417_499),
    _m("ecdn_m [BN batch]", "ecdn_m", "ecdn_m", "batch", 27.90, 44.8, 417_499),
    _m("ecdn_m (ecdn_m_half)", "ecdn_m", "ecdn_m_half", "eval", 27.40, 44.8, 417_499),
    _m(LONG, "ecdn_m", "ecdn_m_half", "batch", 27.89, 44.8, 417_499),
    _m("ecdn (run:0123abcd:best) trained here", "ecdn", "run:0123abcd:best", "eval", 27.95, 40.5, 694_555),
    {"label": "CARN", "model": "carn", "psnr": 28.60, "mult_adds_g": 90.9, "params": 1_592_000, "published": True,
     "source": SOURCE},
    {"label": "CARN-M", "model": "carn_m", "psnr": 28.42, "mult_adds_g": 32.5, "params": 412_000, "published": True,
     "source": SOURCE},
]
RELEASED = {"carn_m", "ecdn", "ecdn_m", "CARN (published)", "CARN-M (published)"}


# ------------------------------------------------------------------------------------------------------ helpers
def _renderer(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _inside(loc, lo, hi) -> bool:
    lo, hi = sorted((lo, hi))
    return lo - 1e-9 * max(abs(lo), 1.0) <= loc <= hi + 1e-9 * max(abs(hi), 1.0)


def drawn_texts(fig) -> list[Text]:
    """Every visible, non-empty text the figure draws: tick labels inside the view, titles, axis labels, texts and
    annotations, legend entries and titles, figure texts."""
    _renderer(fig)
    out = []
    for ax in fig.axes:
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            for locs, labels in ((axis.get_majorticklocs(), axis.get_majorticklabels()),
                                 (axis.get_minorticklocs(), axis.get_minorticklabels())):
                out += [lab for loc, lab in zip(locs, labels) if _inside(loc, lo, hi)]
        out += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label] + list(ax.texts)
        legends = [a for a in ax.get_children() if isinstance(a, Legend)]
        for leg in legends:
            out += list(leg.get_texts()) + [leg.get_title()]
    for leg in fig.legends:
        out += list(leg.get_texts()) + [leg.get_title()]
    out += list(fig.texts)
    seen, keep = set(), []
    for t in out:
        if id(t) not in seen and t.get_visible() and t.get_text().strip():
            seen.add(id(t))
            keep.append(t)
    return keep


def text_box(t: Text, renderer):
    """The text's own box (an annotation's box without its arrow)."""
    return Text.get_window_extent(t, renderer)


def assert_no_overlap(fig) -> list[Text]:
    texts = drawn_texts(fig)
    r = fig.canvas.get_renderer()
    boxes = [text_box(t, r) for t in texts]
    for i in range(len(texts)):
        for j in range(i):
            assert not boxes[i].overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    return texts


def _box_distance(box, x, y) -> float:
    dx = max(box.x0 - x, 0.0, x - box.x1)
    dy = max(box.y0 - y, 0.0, y - box.y1)
    return math.hypot(dx, dy)


def _flat(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------------------------------------- bubble chart
@pytest.fixture(scope="module")
def bubble_all():
    return F.bubble_figure(POINTS, dataset="Set14", scale=4, bicubic_psnr=26.09, variants=True)


def _bubbles(fig):
    ax = fig.axes[0]
    px = fig.dpi / 72.0
    out = {}
    for coll in ax.collections:
        gid = coll.get_gid() or ""
        if gid.startswith("bubble-") and gid.count("-") == 1:
            (x, y), = coll.get_offsets()
            cx, cy = ax.transData.transform((x, y))
            out[int(gid.split("-")[1])] = (cx, cy, math.sqrt(coll.get_sizes()[0]) / 2 * px, coll)
    return out


def _check_bubble_labels(fig, n_expected):
    ax = fig.axes[0]
    r = _renderer(fig)
    bubbles = _bubbles(fig)
    labels = {int(t.get_gid().rsplit("-", 1)[1]): t for t in ax.texts
              if (t.get_gid() or "").startswith("bubble-label-")}
    leaders = {int(t.get_gid().rsplit("-", 1)[1]): t for t in ax.texts
               if (t.get_gid() or "").startswith("bubble-leader-")}
    assert len(bubbles) == len(labels) == n_expected
    axes_box = ax.get_window_extent(r)
    px = fig.dpi / 72.0
    for i, lab in labels.items():
        box = text_box(lab, r)
        assert axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1 and axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1
        cx, cy, rad, _ = bubbles[i]
        own = _box_distance(box, cx, cy) - rad
        others = [_box_distance(box, ox, oy) - orad for j, (ox, oy, orad, _) in bubbles.items() if j != i]
        if i in leaders:
            lead = leaders[i]
            assert lead.arrow_patch is not None and lead.xy == lab.xy      # drawn to its own bubble's centre
            assert lead.anncoords == "offset points"
            start = np.asarray(ax.transData.transform(lead.xy)) + np.asarray(lead.xyann) * px
            assert _box_distance(box, *start) < 1.0                          # ... from the label's own box
        else:
            assert own < 6 * px, lab.get_text()                             # next to its bubble
            assert own < min(others), lab.get_text()                         # nearer it than any other bubble
    return labels, leaders


def test_bubble_labels_never_overlap_and_sit_by_their_bubble(bubble_all):
    assert_no_overlap(bubble_all)
    labels, leaders = _check_bubble_labels(bubble_all, len(POINTS))
    texts = {_flat(t.get_text()) for t in labels.values()}
    assert LONG in texts and any("\n" in t.get_text() for t in labels.values())   # long labels wrapped
    # coincident bubbles (carn_m measured and published; two ecdn_m rows) cannot be told apart by nearness alone
    assert leaders


def test_bubble_labels_dense_cluster():
    rng = np.random.default_rng(3)
    pts = [_m(f"{LONG} {i}", "ecdn_m", "ecdn_m", "eval", 27.5 + rng.uniform(0, 0.4), 40 + rng.uniform(0, 8),
              int(rng.uniform(3e5, 9e5))) for i in range(9)]
    fig = F.bubble_figure(pts, dataset="Set14", scale=4, bicubic_psnr=27.6)
    assert_no_overlap(fig)
    _check_bubble_labels(fig, len(pts))


def test_bubble_area_proportional_to_parameters_and_kinds(bubble_all):
    bubbles = _bubbles(bubble_all)
    ratio = [b[3].get_sizes()[0] / POINTS[i]["params"] for i, b in bubbles.items()]
    assert max(ratio) == pytest.approx(min(ratio), rel=1e-12)
    for i, (_, _, _, coll) in bubbles.items():
        face = coll.get_facecolors()
        hollow = len(face) == 0 or face[0][3] == 0
        assert hollow == bool(POINTS[i].get("published")), POINTS[i]["label"]
    legend_text = " ".join(t.get_text() for leg in bubble_all.legends for t in leg.get_texts())
    assert "measured" in legend_text and "published" in legend_text and SOURCE in legend_text


def test_bubble_log_axis_plain_ticks(bubble_all):
    ax = bubble_all.axes[0]
    assert ax.get_xscale() == "log"
    lo, hi = ax.get_xlim()
    shown = [lab.get_text() for loc, lab in zip(ax.xaxis.get_majorticklocs(), ax.xaxis.get_majorticklabels())
             if lo <= loc <= hi]
    assert shown == ["20", "50", "100", "200"]     # data 32.5-90.9 G: plain numbers, no 10^x
    assert all(not lab.get_text() for lab in ax.xaxis.get_minorticklabels())


def test_bubble_default_one_per_released_model():
    fig = F.bubble_figure(POINTS, dataset="Set14", scale=4)
    labels = {_flat(t.get_text()) for t in fig.axes[0].texts if (t.get_gid() or "").startswith("bubble-label-")}
    assert labels == RELEASED
    # the ecdn_report protocol measures in batch mode: its released rows are the batch ones
    fig = F.bubble_figure(POINTS, dataset="Set14", scale=4, bn_mode="batch")
    labels = {_flat(t.get_text()) for t in fig.axes[0].texts if (t.get_gid() or "").startswith("bubble-label-")}
    assert labels == {"ecdn [BN batch]", "ecdn_m [BN batch]", "CARN (published)", "CARN-M (published)"}


def test_is_variant():
    assert not F.is_variant({"model": "ecdn", "weights": "ecdn", "bn_mode": "eval"})
    assert F.is_variant({"model": "ecdn", "weights": "ecdn_half", "bn_mode": "eval"})
    assert F.is_variant({"model": "ecdn", "weights": "ecdn", "bn_mode": "batch"})
    assert not F.is_variant({"model": "ecdn", "weights": "ecdn", "bn_mode": "batch"}, "batch")
    assert F.is_variant({"model": "ecdn", "weights": "run:abc:best", "bn_mode": "eval"})
    assert not F.is_variant({"model": "carn", "published": True})


@pytest.mark.slow
def test_bubble_files_small_and_deterministic(tmp_path):
    a = F.bubble_chart(POINTS, dataset="Set14", scale=4, out_dir=tmp_path / "a", stem="b", variants=True,
                       bicubic_psnr=27.5)
    b = F.bubble_chart(POINTS, dataset="Set14", scale=4, out_dir=tmp_path / "b", stem="b", variants=True,
                       bicubic_psnr=27.5)
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    png, pdf = a
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 300 * 1024
    assert pdf.read_bytes()[:5] == b"%PDF-" and b"CreationDate" not in pdf.read_bytes()


# --------------------------------------------------------------------------------------------------- crop grids
def _smooth_image(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(float)
    img = np.stack([128 + 100 * np.sin(x / 7.0), 128 + 100 * np.cos(y / 9.0), 128 + 60 * np.sin((x + y) / 11.0)],
                   axis=2)
    return np.clip(img, 0, 255).astype(np.uint8)


CROP_BOX = (30, 50, 40, 48)   # top, left, h, w


@pytest.fixture(scope="module")
def crop_case():
    hr = _smooth_image(180, 260)
    top, left, h, w = CROP_BOX
    rng = np.random.default_rng(0)
    tiles = []
    names = [LONG, "carn_m", "carn_m (carn_m_half)", "ecdn", "ecdn [BN batch]", "ecdn (ecdn_half) [BN batch]",
             "ecdn_m", "ecdn_m (ecdn_m_half)", "ecdn_m [BN batch] with an even longer label than the others",
             "bicubic"]
    for i, name in enumerate(names):
        crop = np.clip(hr[top:top + h, left:left + w].astype(int) + rng.integers(-3, 4, (h, w, 3)), 0, 255)
        tiles.append({"label": name, "crop": crop.astype(np.uint8), "psnr": 30.0 + i / 8, "ssim": 0.7 + i / 100,
                      "image_psnr": 31.5 + i / 10, "image_ssim": 0.81})
    tiles.append({"label": "HR (crop)", "crop": hr[top:top + h, left:left + w], "psnr": None})
    return hr, tiles


def test_crop_grid_captions_do_not_overlap(crop_case):
    hr, tiles = crop_case
    fig = F.crop_figure(hr, CROP_BOX, tiles, title="Set5 baby x4", note="crop: PSNR (dB) / SSIM on Y")
    texts = assert_no_overlap(fig)
    r = fig.canvas.get_renderer()
    images = [a.get_window_extent(r) for a in fig.axes]
    for t in texts:   # no caption over an image
        for box in images:
            assert not text_box(t, r).overlaps(box), t.get_text()
    captions = [_flat(t.get_text()) for t in fig.texts]
    assert f"{_flat(F.wrap_label(LONG))} crop 30.00 / 0.7000 image 31.50 / 0.8100" in captions
    assert "bicubic crop 31.12 / 0.7900 image 32.40 / 0.8100" in captions
    assert "HR (crop)" in captions and "HR" in captions
    assert any(t.get_text().startswith(LONG[:10]) and t.get_text().split("\n")[1].startswith("batch]")
               for t in fig.texts)   # the long label is on two lines
    # the HR panel shows the box
    hr_ax = [a for a in fig.axes if a.get_gid() == "crop-hr"][0]
    rect = hr_ax.patches[0]
    assert rect.get_xy() == (CROP_BOX[1] - 0.5, CROP_BOX[0] - 0.5)
    assert (rect.get_height(), rect.get_width()) == CROP_BOX[2:]


def test_crop_parts_split_the_models_evenly_and_end_with_the_hr_crop():
    hr_tile = {"label": "HR (crop)"}
    tiles = [{"label": str(i)} for i in range(12)]
    parts = F.crop_parts(tiles, hr_tile)
    assert [[t["label"] for t in p] for p in parts] == [["0", "1", "2", "3", "HR (crop)"],
                                                         ["4", "5", "6", "7", "HR (crop)"],
                                                         ["8", "9", "10", "11", "HR (crop)"]]
    assert [len(p) for p in F.crop_parts(tiles[:5], hr_tile)] == [4, 3]      # 3 + 2 models, as even as possible
    assert F.crop_parts(tiles[:4]) == [tiles[:4]]                            # no HR image logged: no HR tile


def test_crop_figures_are_small_enough_to_commit(benchmark_root, tmp_path):
    """A full benchmark's crop (twelve models and the HR crop, photographic 96x96 crops of Set5 baby): every part
    stays under 300 KiB, PNG and PDF, at the full resolution (the tiles on the pixel grid)."""
    from PIL import Image
    from srbench.data.images import read_image
    hr = read_image(benchmark_root / "Set5" / "HR" / "baby.png")
    top, left, h, w = box = (20, 80, 96, 96)
    lr = Image.fromarray(hr).resize((128, 128), Image.BICUBIC)
    tiles = []
    for i in range(12):   # twelve different upscalings, as twelve models would give
        sr = np.asarray(lr.resize((512, 512), (Image.BICUBIC, Image.LANCZOS, Image.BILINEAR)[i % 3]))
        sr = np.clip(sr.astype(int) + (i // 3), 0, 255).astype(np.uint8)
        tiles.append({"label": f"model {i} (weights {i}) [BN batch]", "crop": sr[top:top + h, left:left + w],
                      "psnr": 29.0 + i / 10, "ssim": 0.76, "image_psnr": 33.0, "image_ssim": 0.89})
    parts = F.crop_parts(tiles, {"label": "HR (crop)", "crop": hr[top:top + h, left:left + w], "psnr": None})
    for i, part in enumerate(parts):
        png, pdf = F.crop_grid(hr, box, part, title="Set5 baby x4", out_dir=tmp_path, stem=f"c{i}",
                               note="crop: PSNR (dB) / SSIM on Y over the 96x96 box; image: the whole image")
        assert png.stat().st_size < 300 * 1024 and pdf.stat().st_size < 300 * 1024
        fig = F.crop_figure(hr, box, part, title="Set5 baby x4", dpi=F.CROP_DPI)
        assert Image.open(png).size[0] == round(fig.get_size_inches()[0] * F.CROP_DPI)


def test_crop_grid_png_tiles_magnified_nearest(crop_case, tmp_path):
    from PIL import Image
    hr, tiles = crop_case
    png, pdf = F.crop_grid(hr, CROP_BOX, tiles, title="t", out_dir=tmp_path, stem="c")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    again = F.crop_grid(hr, CROP_BOX, tiles, title="t", out_dir=tmp_path / "again", stem="c")
    assert again[0].read_bytes() == png.read_bytes() and again[1].read_bytes() == pdf.read_bytes()
    image = np.asarray(Image.open(png).convert("RGB"))
    fig = F.crop_figure(hr, CROP_BOX, tiles, title="t", dpi=F.CROP_DPI)
    w_in, h_in = fig.get_size_inches()
    dpi = image.shape[1] / w_in
    assert image.shape[0] == pytest.approx(h_in * dpi, abs=1)
    tiles_ax = sorted((a for a in fig.axes if (a.get_gid() or "").startswith("crop-tile-")),
                      key=lambda a: int(a.get_gid().rsplit("-", 1)[1]))
    assert len(tiles_ax) == len(tiles)
    for a, tile in zip(tiles_ax, tiles):
        pos = a.get_position()
        assert pos.width * w_in * dpi >= F.MIN_TILE_PX - 0.5       # texture visible: at least 160 px wide
        x0, x1 = round(pos.x0 * w_in * dpi), round(pos.x1 * w_in * dpi)
        y0, y1 = round((1 - pos.y1) * h_in * dpi), round((1 - pos.y0) * h_in * dpi)
        inner = image[y0 + 3:y1 - 3, x0 + 3:x1 - 3].reshape(-1, 3)
        crop_colours = {tuple(c) for c in np.asarray(tile["crop"]).reshape(-1, 3)}
        # nearest-neighbour magnification: every pixel drawn is one of the crop's own pixels
        assert {tuple(c) for c in np.unique(inner, axis=0)} <= crop_colours


# ---------------------------------------------------------------------------------------------------- ablations
def _group_points(std: bool):
    pts = []
    for si, series in enumerate([f"model=carn_m {LONG}", "model=ecdn", "model=ecdn_m"]):
        for gi, g in enumerate([1, 2, 4, 8]):
            pts.append({"x": g, "series": series, "label": f"{series}, group={g}",
                        "psnr": {"Set5": 34.0 + 0.3 * si - 0.1 * gi, "Set14": 31.0 + 0.1 * gi},
                        "psnr_std": {"Set5": 0.05 * (gi + 1), "Set14": 0.02} if std else None,
                        "params": (600 - 100 * gi + 10 * si) * 1e3, "mult_adds_g": 40.0 - 5 * gi,
                        "latency_ms": 12.0 - gi, "baseline": g == 4})
    return pts


def _errorbars(ax):
    from matplotlib.container import ErrorbarContainer
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def test_ablation_group_two_panels_with_seed_spread():
    pts = _group_points(std=True)
    fig = F.ablation_group_figure(pts, ["Set5", "Set14"], title="group: PSNR vs group")
    assert_no_overlap(fig)
    r = fig.canvas.get_renderer()
    assert len(fig.axes) == 2
    ax, ax_e = fig.axes
    assert not ax.get_window_extent(r).overlaps(ax_e.get_window_extent(r))   # side by side, not twin axes
    bars = _errorbars(ax)
    assert len(bars) == 3 * 2
    # the first series' Set5 error bars span psnr -/+ std (hand values above)
    segs = bars[0].lines[2][0].get_segments()
    first = [p for p in pts if p["series"] == pts[0]["series"]]
    for seg, p in zip(segs, first):
        assert seg[0][1] == pytest.approx(p["psnr"]["Set5"] - p["psnr_std"]["Set5"])
        assert seg[1][1] == pytest.approx(p["psnr"]["Set5"] + p["psnr_std"]["Set5"])
    assert ax_e.get_yscale() == "log"
    ys = [tuple(np.round(line.get_ydata(), 6)) for line in ax_e.get_lines()]
    assert (600.0, 500.0, 400.0, 300.0) in ys and (40.0, 35.0, 30.0, 25.0) in ys and (12.0, 11.0, 10.0, 9.0) in ys
    legend = " ".join(_flat(t.get_text()) for leg in fig.legends for t in leg.get_texts())
    assert "params (K)" in legend and "Mult-Adds (G)" in legend and "latency (ms)" in legend
    assert not _errorbars(F.ablation_group_figure(_group_points(std=False), ["Set5", "Set14"], title="g").axes[0])


def test_ablation_category_two_panels_no_overlap(tmp_path):
    labels = ["loss=Charbonnier", "loss=L1", "loss=MSE", "smoothl1_beta=0.01, loss=SmoothL1", LONG]
    pts = [{"label": lab, "psnr": {"Set5": 34.5 + i / 10, "Set14": 31.2 + i / 20},
            "psnr_std": {"Set5": 0.1}, "params": 417_499, "mult_adds_g": 44.8, "latency_ms": 12.3,
            "baseline": i == 1} for i, lab in enumerate(labels)]
    fig = F.ablation_category_figure(pts, ["Set5", "Set14"], title="ablation_loss")
    texts = assert_no_overlap(fig)
    ax, ax_e = fig.axes
    ticks = [_flat(t.get_text()) for t in ax.get_yticklabels()]
    assert ticks == labels[:1] + ["loss=L1 *"] + labels[2:]
    assert any("\n" in t.get_text() for t in ax.get_yticklabels())
    assert len(_errorbars(ax)) == 1     # only Set5 has a spread
    assert ax_e.get_xscale() == "log" and len(texts) > 10
    png, pdf = F.ablation_category_plot(pts, ["Set5", "Set14"], title="ablation_loss", out_dir=tmp_path, stem="a")
    assert png.stat().st_size < 300 * 1024 and pdf.stat().st_size > 0
    png2, _ = F.ablation_group_plot(_group_points(True), ["Set5", "Set14"], title="g", out_dir=tmp_path, stem="g")
    assert png2.stat().st_size < 300 * 1024


def test_wrap_label():
    assert F.wrap_label("short") == "short"
    assert F.wrap_label(LONG) == "ecdn_m (ecdn_m_half) [BN\nbatch] very long label"
    assert F.wrap_label("x" * 40) == "x" * 40    # nowhere to break


def test_ablation_category_axis_spans_the_error_bars():
    """Seed spread wider than the spread of the means: the zoomed axis must still hold every bar (it once cut them
    at the frame)."""
    pts = [{"label": f"loss={name}", "psnr": {"Set5": 34.5 + i / 10}, "psnr_std": {"Set5": 0.5},
            "params": 259_739, "mult_adds_g": 72.4, "baseline": i == 0} for i, name in enumerate(["A", "B", "C"])]
    ax = F.ablation_category_figure(pts, ["Set5"], title="loss").axes[0]
    lo, hi = ax.get_xlim()
    assert lo <= 34.5 - 0.5 and hi >= 34.7 + 0.5   # the outermost bar ends, by hand


def test_figures_leave_the_global_rcparams_alone(tmp_path):
    """The report draws under its own settings in an rc_context: a program's matplotlib settings survive it, and the
    figure itself still gets the report's font sizes."""
    import matplotlib
    before = dict(matplotlib.rcParams)
    with matplotlib.rc_context({"font.size": 13.0}):
        fig = F.ablation_category_figure([{"label": "a", "psnr": {"Set5": 30.0}, "params": 1e5}], ["Set5"], title="t")
        assert matplotlib.rcParams["font.size"] == 13.0
    assert fig.axes[0].title.get_fontsize() == 8.5     # axes.titlesize of the report's style
    F.save(fig, tmp_path, "x")
    assert dict(matplotlib.rcParams) == before
