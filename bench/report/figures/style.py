"""The look every report figure shares, and how a figure is written: matplotlib settings applied with
``matplotlib.rc_context`` (never by rewriting the global ``rcParams``, so a program that imports srbench keeps its
own matplotlib settings), the page width, the models' colours, label wrapping, log-axis ticks, and :func:`save`
(PNG under a size limit, PDF, no dates in the metadata).
"""

from __future__ import annotations

import functools
import io
import math
from pathlib import Path

PNG_LIMIT = 280 * 1024          # bytes (a PNG is re-rendered at a lower resolution until it fits)
PDF_IMAGE_DPI = 200             # resolution of raster images (the HR photograph) inside the PDFs
PAGE_WIDTH = 7.0                # inches: a two-column paper's full text width
MODEL_COLORS = {"bicubic": "#7f7f7f", "carn": "#9b2d30", "carn_m": "#d1603d", "ecdn": "#1f5f8b",
                "ecdn_m": "#4fa3c7"}
EXTRA_COLORS = ["#2a9d8f", "#8e6c8a", "#b8a04a", "#5b7d3a", "#c06c84", "#6c5b7b", "#355c7d"]
LABEL_WIDTH = 24                # characters: longer labels are wrapped onto two lines
#: the settings every figure is drawn and saved under
RC = {"font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "legend.fontsize": 6.5, "xtick.labelsize": 7,
      "ytick.labelsize": 7, "svg.hashsalt": "srbench", "pdf.compression": 9}


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def styled(func):
    """Run ``func`` (a function that builds or writes a figure) under :data:`RC`, in a ``matplotlib.rc_context``:
    the settings hold while the figure is built, drawn and saved, and the caller's are back afterwards."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import matplotlib
        with matplotlib.rc_context(RC):
            return func(*args, **kwargs)
    return wrapper


def color_for(model: str, index: int = 0) -> str:
    return MODEL_COLORS.get(model, EXTRA_COLORS[index % len(EXTRA_COLORS)])


def wrap_label(text: str, width: int = LABEL_WIDTH) -> str:
    """A label of more than ``width`` characters broken onto two lines at the space nearest its middle."""
    text = " ".join(str(text).split())
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if len(text) <= width or not spaces:
        return text
    i = min(spaces, key=lambda s: (abs(s - len(text) / 2), s))
    return text[:i] + "\n" + text[i + 1:]


def _png(fig, dpi: int, bbox: dict, opaque: bool) -> bytes:
    """The figure as PNG bytes at ``dpi``; ``opaque``: written as RGB (no alpha channel: the figure is opaque)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, pil_kwargs={"optimize": True}, **bbox)
    if not opaque:
        return buf.getvalue()
    from PIL import Image
    out = io.BytesIO()
    Image.open(buf).convert("RGB").save(out, format="png", optimize=True)
    return out.getvalue()


@styled
def save(fig, out_dir: Path, stem: str, *, dpi: int = 200, limit: int = PNG_LIMIT, tight: bool = True,
         pdf_dpi: int = PDF_IMAGE_DPI, opaque: bool = False) -> list[Path]:
    """Write ``<stem>.png`` (lowering the resolution until it is at most ``limit`` bytes; RGB where ``opaque``) and
    ``<stem>.pdf`` (raster images resampled at ``pdf_dpi``, those drawn with ``interpolation="none"`` embedded as
    they are); ``tight`` trims the figure to its content (else it is saved at its own size)."""
    plt = pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    bbox = {"bbox_inches": "tight", "pad_inches": 0.04} if tight else {}
    while True:
        data = _png(fig, dpi, bbox, opaque)
        if len(data) <= limit or dpi <= 60:
            break
        # the size grows about as dpi^2: aim just under the limit (at least 5 % lower each time)
        dpi = max(60, min(int(dpi * 0.95), int(dpi * 0.97 * math.sqrt(limit / len(data)))))
    png = out_dir / f"{stem}.png"
    png.write_bytes(data)
    pdf = out_dir / f"{stem}.pdf"
    fig.savefig(pdf, format="pdf", dpi=pdf_dpi, metadata={"CreationDate": None, "Producer": None,
                                                          "Creator": None}, **bbox)
    plt.close(fig)
    return [png, pdf]


def plain_log_axis(axis) -> None:
    """Log-axis ticks at 1, 2, 5 x 10^k written as plain numbers (10, 20, 50, 100), no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def nice_floor(v: float) -> float:
    """The largest of 1, 2, 5 x 10^k that is <= v."""
    e = math.floor(math.log10(v))
    return max(m * 10.0 ** e for m in (1, 2, 5) if m * 10.0 ** e <= v * (1 + 1e-9))


def nice_ceil(v: float) -> float:
    """The smallest of 1, 2, 5, 10 x 10^k that is >= v."""
    e = math.floor(math.log10(v))
    return min(m * 10.0 ** e for m in (1, 2, 5, 10) if m * 10.0 ** e >= v * (1 - 1e-9))
