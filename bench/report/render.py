"""Render a :class:`Table` as Markdown (GitHub pipe table), LaTeX (booktabs) and CSV.

A table cell is plain text or a list of :class:`Part` so that one cell can carry two separately marked numbers
(``PSNR/SSIM``). Marks follow the papers: best **bold**, second best _underlined_ (Markdown: ``**x**`` and ``_x_``;
LaTeX: ``\\textbf{x}`` and ``\\underline{x}``). The CSV holds the table's numbers unformatted (one column per number,
no marks), in the same row order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from srbench.report.portable import portable_text

BEST, SECOND = "best", "second"


@dataclass(frozen=True)
class Part:
    """A piece of a cell's text with an optional mark (``best`` or ``second``)."""

    text: str
    mark: str | None = None


Cell = str | list[Part]


@dataclass
class Table:
    """A rendered-ready table: display cells, column headers (with optional group headers) and a numeric CSV frame."""

    name: str                                  # file stem: tables/<name>.{md,tex,csv}
    title: str
    columns: list[tuple[str, str]]             # (group, header); group "" when the column stands alone
    rows: list[list[Cell]]
    csv: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    align: str = ""                            # one of l/r/c per column; default: first column l, others r
    rules: list[int] = field(default_factory=list)   # row indices before which LaTeX draws a \midrule

    def __post_init__(self) -> None:
        if not self.align:
            last = "l" if self.columns and self.columns[-1][1] in ("Run", "Runs") else "r"
            self.align = ("l" + "r" * (len(self.columns) - 2) + last) if len(self.columns) > 1 else "l"
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.name}: a row has {len(row)} cells for {len(self.columns)} columns")


def _parts(cell: Cell) -> list[Part]:
    return [Part(cell)] if isinstance(cell, str) else list(cell)


# ---------------------------------------------------------------------------------------------------------- Markdown
def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _marked(cell: Cell, escape, best: str, second: str) -> str:
    """A cell's parts escaped for the format, best/second-best parts wrapped in ``best``/``second`` ({} = text)."""
    out = []
    for part in _parts(cell):
        text = escape(part.text)
        if text and part.mark in (BEST, SECOND):
            text = (best if part.mark == BEST else second).replace("{}", text)
        out.append(text)
    return "".join(out)


def _md_cell(cell: Cell) -> str:
    return _marked(cell, _md_escape, "**{}**", "_{}_")


def to_markdown(table: Table) -> str:
    """The table as a GitHub pipe table (no title, no notes)."""
    heads = [f"{g} {h}".strip() if g else h for g, h in table.columns]
    sep = [":---" if a == "l" else ("---:" if a == "r" else ":---:") for a in table.align]
    lines = ["| " + " | ".join(_md_escape(h) for h in heads) + " |", "|" + "|".join(sep) + "|"]
    for row in table.rows:
        lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def markdown_document(table: Table, level: int = 1) -> str:
    """Title, table and notes, as written to ``tables/<name>.md``."""
    text = f"{'#' * level} {table.title}\n\n{to_markdown(table)}"
    if table.notes:
        text += "\n" + "\n".join(f"- {n}" for n in table.notes) + "\n"
    return text


# ------------------------------------------------------------------------------------------------------------- LaTeX
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
_LATEX_UNICODE = {"Δ": r"$\Delta$", "β": r"$\beta$", "×": r"$\times$", "±": r"$\pm$", "—": "---", "–": "--",
                  "≈": r"$\approx$", "·": r"$\cdot$", "≤": r"$\leq$", "≥": r"$\geq$", "µ": r"$\mu$", "−": "-",
                  "✓": "yes", "✗": "no", "…": r"\dots{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters and map the few non-ASCII symbols the tables use to math mode."""
    out = []
    for ch in text:
        if ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch in _LATEX_UNICODE:
            out.append(_LATEX_UNICODE[ch])
        else:
            out.append(ch)
    return "".join(out)


def _tex_cell(cell: Cell) -> str:
    return _marked(cell, latex_escape, r"\textbf{{}}", r"\underline{{}}")


def to_latex(table: Table) -> str:
    """The table as a LaTeX ``table`` float with a booktabs ``tabular`` (needs ``\\usepackage{booktabs}``)."""
    lines = [f"% {latex_escape(table.title)}", "% generated by `srbench report` from MLflow; needs \\usepackage{booktabs}"]
    for note in table.notes:
        lines.append("% " + note.replace("\n", " "))
    lines += [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{latex_escape(table.title)}}}",
              rf"\label{{tab:{table.name}}}", rf"\begin{{tabular}}{{{table.align}}}", r"\toprule"]
    groups = [g for g, _ in table.columns]
    if any(groups):
        spans = []  # (group, first col index, last col index)
        for i, g in enumerate(groups):
            if spans and spans[-1][0] == g and g:
                spans[-1] = (g, spans[-1][1], i)
            else:
                spans.append((g, i, i))
        head = []
        rules = []
        for g, a, b in spans:
            if not g:
                head.extend([""] * (b - a + 1))
            else:
                head.append(rf"\multicolumn{{{b - a + 1}}}{{c}}{{{latex_escape(g)}}}")
                rules.append(rf"\cmidrule(lr){{{a + 1}-{b + 1}}}")
        lines.append(" & ".join(head) + r" \\")
        lines.append(" ".join(rules))
    lines.append(" & ".join(latex_escape(h) for _, h in table.columns) + r" \\")
    lines.append(r"\midrule")
    for i, row in enumerate(table.rows):
        if i in table.rules and i > 0:
            lines.append(r"\midrule")
        lines.append(" & ".join(_tex_cell(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------- CSV
INT_COLUMNS = ("params", "params_effective", "params_published", "n_images", "scale")


def to_csv(table: Table) -> str:
    """The table's numbers (``table.csv``) as CSV text, '\\n' line ends, empty cells for missing values; counts
    (parameters, images, scale) as integers."""
    frame = table.csv.copy()
    for col in INT_COLUMNS:
        if col in frame:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").round().astype("Int64")
    return frame.to_csv(index=False, lineterminator="\n")


def write_table(table: Table, out_dir: Path) -> list[Path]:
    """Write ``<name>.md``, ``<name>.tex`` and ``<name>.csv`` into ``out_dir`` (paths named relative to the project,
    :func:`srbench.report.portable.portable_text`); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, text in ((".md", markdown_document(table)), (".tex", to_latex(table)), (".csv", to_csv(table))):
        path = out_dir / f"{table.name}{suffix}"
        path.write_text(portable_text(text), encoding="utf-8")
        paths.append(path)
    return paths
