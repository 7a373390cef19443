"""The crop grids (the layout of the ECDN report's Figures 3-5): the HR image with the crop box on the left, then
the same crop from every model, magnified with nearest-neighbour and captioned with the crop's and the whole image's
PSNR/SSIM. Tiles sit on the pixel grid, so the PNG stays exact and small.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from srbench.report.figures.style import PAGE_WIDTH, pyplot, save, styled, wrap_label

CROP_PNG_LIMIT = 290 * 1024     # bytes, crop grids (photographic content): small enough to commit
CROP_PDF_DPI = 100              # resolution of the HR overview inside the PDF (the tiles are embedded unresampled)
MAX_TILES = 4                   # model tiles per crop figure: more models make more figures (see crop_parts)
MIN_TILE_PX = 160               # a crop tile is drawn at least this many pixels wide (nearest-neighbour)
CROP_DPI = 200                  # resolution of the crop grids' PNG
HR_PIXELS = 50_000              # pixel budget of the HR overview panel (the crops are what is compared)


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


def _text_size(fig, text: str, **kw) -> tuple[float, float]:
    """The (width, height) in inches ``text`` takes in ``fig`` with the given text properties."""
    t = fig.text(0, 0, text, **kw)
    e = t.get_window_extent(fig.canvas.get_renderer())
    t.remove()
    return e.width / fig.dpi, e.height / fig.dpi


def _tiles(n: int, box: tuple, cap_w: float, dpi: int, avail: float, L: SimpleNamespace) -> None:
    """The tiles' magnification ``k`` (integer: a tile >= MIN_TILE_PX pixels and as wide as every caption), size
    (``t`` x ``th`` inches, on the pixel grid) and columns (at most four a row, rows as even as possible, fewer when
    the HR panel would get too narrow), into ``L``."""
    h, w = box[2], box[3]
    k = max(1, math.ceil(MIN_TILE_PX / w), math.ceil((cap_w + 0.03) * dpi / w))
    t = min(k * w / dpi, 1.6) if k > 1 else min(w / dpi, 1.6)
    t = max(t, cap_w + 0.03)
    L.k, L.th, L.t = k, round(t * h / w * dpi) / dpi, round(t * dpi) / dpi
    L.ncols = 1
    balanced = math.ceil(n / math.ceil(n / 4))
    for cols in range(balanced, 0, -1):
        if cols * L.t + (cols - 1) * L.gap + L.hr_gap + L.hr_min <= avail:
            L.ncols = cols
            break


def _layout(fig, hr: np.ndarray | None, box: tuple, captions: list[str], title: str, note: str,
            dpi: int) -> SimpleNamespace:
    """Every size and position of a crop grid (inches), measured with the figure's own renderer."""
    n = max(len(captions), 1)
    cap_kw = {"fontsize": 6.0, "linespacing": 1.15, "ha": "center", "va": "top"}
    cap_sizes = [_text_size(fig, c, **cap_kw) for c in captions] or [(0.0, 0.0)]
    with_hr = hr is not None   # without one (a store from before it was logged) the tiles fill the width
    L = SimpleNamespace(dpi=dpi, cap_kw=cap_kw, cap_h=max(s[1] for s in cap_sizes), margin=0.04,
                        hr_gap=0.14 if with_hr else 0.0, hr_min=1.2 if with_hr else 0.0, row_gap=0.08, cap_pad=0.03,
                        gap=0.08, title_h=_text_size(fig, title, fontsize=8.5)[1],
                        hr_cap_h=_text_size(fig, "HR", fontsize=7)[1] + 0.04 if with_hr else 0.0)
    L.head = L.title_h + (_text_size(fig, note, fontsize=6)[1] + 0.03 if note else 0.0) + 0.08
    L.avail = PAGE_WIDTH - 2 * L.margin
    _tiles(n, box, max(s[0] for s in cap_sizes), dpi, L.avail, L)
    nrows = math.ceil(n / L.ncols)
    L.grid_w = L.ncols * L.t + (L.ncols - 1) * L.gap
    L.grid_h = nrows * (L.th + L.cap_pad + L.cap_h) + (nrows - 1) * L.row_gap
    L.hr_w = L.hr_h = 0.0
    if with_hr:
        hr_aspect = hr.shape[1] / hr.shape[0]     # width / height
        budget = HR_PIXELS
        hr_w = min(L.avail - L.hr_gap - L.grid_w,                    # the page width
                   hr_aspect * max(L.grid_h - L.hr_cap_h, L.th),     # as tall as the grid
                   math.sqrt(budget * hr_aspect) / dpi,              # the pixel budget
                   2 * hr.shape[1] / dpi)                            # at most 2x upsampling
        L.hr_w = round(max(hr_w, 0.5) * dpi) / dpi
        L.hr_h = round(L.hr_w / hr_aspect * dpi) / dpi
    L.body = max(L.grid_h, L.hr_h + L.hr_cap_h)
    L.height = round((L.margin + L.head + L.body + L.margin) * dpi) / dpi
    return L


@styled
def crop_figure(hr: np.ndarray | None, box: tuple[int, int, int, int], tiles: list[dict], *, title: str, note: str = "",
                dpi: int = CROP_DPI):
    """The layout of the ECDN report's Figures 3-5; returns the Figure.

    The HR image with the crop box drawn on the left, then the same crop from every model in rows of at most four,
    magnified by an integer factor with nearest-neighbour so that, at ``dpi``, each tile is at least
    ``MIN_TILE_PX`` pixels wide (texture visible) and exactly ``k`` PNG pixels per crop pixel (positions are snapped
    to the pixel grid, which also keeps the PNG small). Each tile is captioned with its label (wrapped onto two lines
    when long) and the crop's and the whole image's PSNR/SSIM; the figure is sized from the number of tiles and the
    measured caption extents (a tile is at least as wide as the widest caption), so no caption overlaps another or
    an image. The HR panel is as tall as the grid where the page width allows, at most ``HR_PIXELS`` pixels, so that
    with at most ``MAX_TILES`` model tiles (:func:`crop_parts`) the PNG stays under ``CROP_PNG_LIMIT``.

    ``hr``: uint8 HxWx3, or None (a store from before the HR image was logged: no HR panel, the tiles alone);
    ``box``: (top, left, h, w); ``tiles``: dicts with label, crop (uint8 hxwx3), psnr, and
    optionally ssim, image_psnr, image_ssim. Tile axes carry gids ``crop-tile-<i>``, the HR axes ``crop-hr``."""
    captions = [crop_caption(t) for t in tiles]
    fig = pyplot().figure(figsize=(PAGE_WIDTH, 3.0))
    layout = _layout(fig, hr, box, captions, title, note, dpi)
    fig.set_size_inches(PAGE_WIDTH, layout.height)
    _draw_crop_grid(fig, hr, box, tiles, captions, layout, title=title, note=note)
    return fig


def _axes_at(fig, L: SimpleNamespace, x: float, y_top: float, width: float, h_in: float):
    """Axes at ``x`` inches from the left and ``y_top`` from the top, snapped to the pixel grid."""
    x, y0 = round(x * L.dpi) / L.dpi, round((L.height - y_top - h_in) * L.dpi) / L.dpi
    return fig.add_axes((x / PAGE_WIDTH, y0 / L.height, width / PAGE_WIDTH, h_in / L.height))


def _draw_hr(fig, hr: np.ndarray, box: tuple, L: SimpleNamespace, x_hr: float, hr_top: float) -> None:
    """The HR panel with the crop box drawn on it, captioned "HR"."""
    from matplotlib.patches import Rectangle

    top, left, h, w = box
    ax = _axes_at(fig, L, x_hr, hr_top, L.hr_w, L.hr_h)
    ax.set_gid("crop-hr")
    ax.imshow(hr, interpolation="antialiased", aspect="auto")
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, edgecolor="#ff2020", linewidth=1.2))
    ax.set_xticks([])
    ax.set_yticks([])
    fig.text((x_hr + L.hr_w / 2) / PAGE_WIDTH, (L.height - hr_top - L.hr_h - 0.04) / L.height, "HR", fontsize=7,
             ha="center", va="top")


def _draw_crop_grid(fig, hr: np.ndarray | None, box: tuple[int, int, int, int], tiles: list[dict],
                    captions: list[str], L: SimpleNamespace, *, title: str, note: str) -> None:
    """Draw the HR panel with its box (where there is an HR image) and the captioned tiles at the positions
    :func:`_layout` computed."""
    x_hr = L.margin + max(0.0, (L.avail - L.hr_w - L.hr_gap - L.grid_w) / 2)   # the whole block centred on the page
    body_top = L.margin + L.head
    if hr is not None:
        _draw_hr(fig, hr, box, L, x_hr, body_top + (L.body - L.hr_h - L.hr_cap_h) / 2)
    x0 = x_hr + L.hr_w + L.hr_gap
    for i, tile in enumerate(tiles):
        r, c = divmod(i, L.ncols)
        x = x0 + c * (L.t + L.gap)
        y = body_top + (L.body - L.grid_h) / 2 + r * (L.th + L.cap_pad + L.cap_h + L.row_gap)
        a = _axes_at(fig, L, x, y, L.t, L.th)
        a.set_gid(f"crop-tile-{i}")
        # the crop's own pixels, each drawn as k x k PNG pixels (the axes hold exactly k * w of them); a PDF
        # embeds the crop unresampled
        a.imshow(np.asarray(tile["crop"]), interpolation="none", aspect="auto")
        a.set_xticks([])
        a.set_yticks([])
        for spine in a.spines.values():
            spine.set_linewidth(0.5)
            spine.set_color("#888888")
        fig.text((x + L.t / 2) / PAGE_WIDTH, (L.height - y - L.th - L.cap_pad) / L.height, captions[i], **L.cap_kw)
    fig.text(0.5, (L.height - L.margin) / L.height, title, fontsize=8.5, ha="center", va="top")
    if note:
        fig.text(0.5, (L.height - L.margin - L.title_h - 0.03) / L.height, note, fontsize=6, ha="center", va="top",
                 color="#444444")


def crop_parts(tiles: list[dict], hr_tile: dict | None = None) -> list[list[dict]]:
    """The tiles of one crop split into figures of at most ``MAX_TILES`` model tiles, as even as possible and in
    their order, each ending with ``hr_tile`` (the HR crop) where there is one: a PNG of photographic crops costs
    about 2 bytes per pixel without loss, so a figure with every model of a full benchmark would not stay small."""
    n = max(1, math.ceil(len(tiles) / MAX_TILES))
    size = math.ceil(len(tiles) / n) if tiles else 0
    parts = [tiles[i:i + size] for i in range(0, len(tiles), size)] if tiles else [[]]
    return [part + ([hr_tile] if hr_tile is not None else []) for part in parts]


@styled
def crop_grid(hr: np.ndarray | None, box: tuple[int, int, int, int], tiles: list[dict], *, title: str, out_dir: Path,
              stem: str, note: str = "") -> list[Path]:
    """:func:`crop_figure`, written as PNG (RGB) at ``CROP_DPI`` (lower only if the PNG would exceed
    ``CROP_PNG_LIMIT``; the figure is not trimmed, so the tiles stay on the pixel grid) and PDF."""
    fig = crop_figure(hr, box, tiles, title=title, note=note, dpi=CROP_DPI)
    return save(fig, out_dir, stem, dpi=CROP_DPI, limit=CROP_PNG_LIMIT, tight=False, pdf_dpi=CROP_PDF_DPI,
                opaque=True)
