"""The field table: every released model measured under the standard protocol, per scale, sorted by Mult-Adds,
beside what its paper printed (:mod:`srbench.models.published`).

Cells come from **every** experiment of the store (the benchmark's, the zoo's, the quick one...): their cell runs
are pooled and selected as everywhere else in the reports (:func:`srbench.report.collect.cell_frames`: one run per
``srbench.cell_key``, then the newest per cell identity), so a cell two experiments share counts once. A row is a
released model (weights named after the model, or none: bicubic) with BatchNorm in ``eval`` mode, under protocol
``standard``. Columns: the four standard sets, plus any published dataset measured from a user's folder (Manga109:
``datasets: [path/to/Manga109]``, whose metric key is ``Manga109-<hash>``), each with measured PSNR/SSIM, the
published value and measured − published where a paper printed one. The sentences under the table
(:func:`field_sentences`) are computed from the table's own numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from srbench.models import published as printed
from srbench.report import collect
from srbench.report.render import Table

PROTOCOL = "standard"
BN_MODE = "eval"
DASH = "—"
#: Mult-Adds bands (G, at the table's output size) the sentences name the best model of
BANDS = ((0.0, 10.0), (10.0, 30.0), (30.0, 100.0), (100.0, math.inf))
_USER_KEY = re.compile(r"^(?P<base>.+)-[0-9a-f]{8}$")


@dataclass
class FieldRow:
    """One model at one scale: its cost, latency and per-dataset measured and published values."""

    model: str
    label: str
    scale: int
    params: float | None
    mult_adds_g: float | None
    measure_out: str
    latency_ms: float | None
    runtime: str
    device: str
    scores: dict[str, tuple[float, float | None]]              # column -> measured (psnr, ssim)
    published: dict[str, printed.PublishedScore]              # column -> the record compared with
    keys: dict[str, tuple[str, int | None]]                   # column -> (dataset key measured, number of images)


def column_of(dataset: str) -> str | None:
    """The table column a measured dataset key belongs to: a store set by name (Set5...), or a user folder whose
    name is another published set (``Manga109-1f0c9a2e`` -> Manga109); None for anything else."""
    if dataset in collect.DATASET_ORDER:
        return dataset
    m = _USER_KEY.match(dataset)
    base = m.group("base") if m else dataset
    return base if base in printed.DATASETS and base not in collect.DATASET_ORDER else None


def read_cells(store: collect.Store) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(results, cells, experiment names) pooled over every active experiment of the store; standard protocol,
    released weights, BatchNorm eval only."""
    runs, names = [], []
    for exp in store.client.search_experiments():
        if exp.lifecycle_stage != "active":
            continue
        found = store.finished_runs(exp.experiment_id, kind="cell")
        if found:
            runs.extend(found)
            names.append(exp.name)
    results, cells = collect.cell_frames(runs)
    if results.empty:
        return results, cells, sorted(names)

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        released = (frame["weights"] == frame["model"]) | (frame["weights"] == "")
        return frame[(frame["protocol"] == PROTOCOL) & (frame["bn_mode"] == BN_MODE) & released]

    return keep(results), keep(cells), sorted(names)


def field_rows(results: pd.DataFrame, cells: pd.DataFrame, scale: int) -> list[FieldRow]:
    """The table's rows at ``scale``, sorted by Mult-Adds (bicubic, which has none, first), then by label."""
    rows = []
    for c in cells[cells["scale"] == scale].itertuples(index=False):
        res = results[(results["model"] == c.model) & (results["weights"] == c.weights) & (results["scale"] == scale)]
        scores, pubs, keys = {}, {}, {}
        for r in res.itertuples(index=False):
            col = column_of(r.dataset)
            if col is None:
                continue
            scores[col] = (float(r.psnr), None if pd.isna(r.ssim) else float(r.ssim))
            keys[col] = (r.dataset, None if pd.isna(r.n_images) else int(r.n_images))
            record = printed.lookup(c.model, col, scale)
            if record is not None:
                pubs[col] = record
        rows.append(FieldRow(c.model, c.label, scale, _num(c.params), _num(c.mult_adds_g), c.measure_out,
                             _num(c.latency_ms), c.runtime, c.device_name, scores, pubs, keys))
    return sorted(rows, key=lambda r: (r.mult_adds_g or 0.0, r.label))


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def columns_of(rows: list[FieldRow]) -> list[str]:
    """The dataset columns: the four standard sets, then any other published set measured at this scale."""
    seen = {col for r in rows for col in r.scores}
    return [d for d in printed.DATASETS if d in collect.DATASET_ORDER or d in seen]


def delta(row: FieldRow, column: str) -> float | None:
    """Measured − published PSNR (dB) of one cell; None without both values."""
    if column not in row.scores or column not in row.published:
        return None
    return row.scores[column][0] - row.published[column].psnr


def _pair(psnr: float | None, ssim: float | None) -> str:
    if psnr is None:
        return DASH
    return f"{psnr:.2f}/{ssim:.4f}" if ssim is not None else f"{psnr:.2f}/{DASH}"


def _signed(value: float | None) -> str:
    """A difference to 0.01 dB with its sign; one that rounds to zero is +0.00 (never -0.00)."""
    return DASH if value is None else f"{round(value, 2) + 0.0:+.2f}"


def _madds(value: float | None) -> str:
    """G Mult-Adds to 0.1 G, or to three decimals below 1 G (a small output size)."""
    if not value:
        return DASH
    return f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def _published_cell(record: printed.PublishedScore | None) -> str:
    """A published pair, marked † when printed for another variant and ‡ when reprinted by another paper."""
    if record is None:
        return DASH
    return _pair(record.psnr, record.ssim) + ("†" if not record.for_released_weights else "") + \
        ("‡" if record.reprint else "")


def field_table(rows: list[FieldRow], scale: int) -> Table:
    """The rendered table of one scale (rows as :func:`field_rows` sorted them)."""
    cols = columns_of(rows)
    out = rows[0].measure_out if rows and len({r.measure_out for r in rows}) == 1 else ""
    at = f", {out} out" if out else ""
    header = [("", "Model"), ("", "Params"), ("", f"Mult-Adds (G{at})")]
    for d in cols:
        header += [(d, "measured"), (d, "published"), (d, "Δ PSNR")]
    header += [("", f"Latency (ms{at})"), ("", "Runtime"), ("", "Device")]
    body, csv_rows = [], []
    for r in rows:
        cells = [r.label, f"{int(r.params):,}" if r.params else DASH, _madds(r.mult_adds_g)]
        rec = {"model": r.model, "label": r.label, "scale": scale, "params": r.params, "mult_adds_g": r.mult_adds_g,
               "measure_out": r.measure_out}
        for d in cols:
            m, p, dp = r.scores.get(d), r.published.get(d), delta(r, d)
            cells += [_pair(*m) if m else DASH, _published_cell(p), _signed(dp)]
            rec.update({f"psnr_{d}": m[0] if m else None, f"ssim_{d}": m[1] if m else None,
                        f"psnr_published_{d}": p.psnr if p else None, f"ssim_published_{d}": p.ssim if p else None,
                        f"psnr_delta_{d}": dp, f"published_for_released_weights_{d}":
                            p.for_released_weights if p else None})
        cells += [f"{r.latency_ms:.1f}" if r.latency_ms is not None else DASH, r.runtime or DASH, r.device or DASH]
        rec.update({"latency_ms": r.latency_ms, "runtime": r.runtime, "device": r.device})
        body.append(cells)
        csv_rows.append(rec)
    return Table(name=f"field_x{scale}", title=f"The field, x{scale} (protocol {PROTOCOL}, Y channel)",
                 columns=header, rows=body, csv=pd.DataFrame(csv_rows), notes=_notes(rows),
                 align="lrr" + "rrr" * len(cols) + "rll")


def _notes(rows: list[FieldRow]) -> list[str]:
    sources = sorted({p.source.cite for r in rows for p in r.published.values()})
    notes = ["Rows sorted by Mult-Adds (one forward pass producing the output size in the header). Δ PSNR = "
             "measured − published (dB). † printed for another variant of the architecture than the released file "
             "measured here (not a reproduction check); ‡ printed in another paper's comparison table. Published "
             "values: `srbench.models.published` (one record per model, dataset and scale, with its source)."]
    if sources:
        notes.append("Published sources: " + "; ".join(sources) + ".")
    folders = sorted({(c, *r.keys[c]) for r in rows for c in r.keys if r.keys[c][0] != c})
    for col, key, n in folders:
        notes.append(f"{col}: measured from the folder with key `{key}` ({n if n is not None else '?'} images), "
                     f"compared with the value printed for the published {col}; Δ means something only when the "
                     "folder holds that whole set.")
    missing = sorted(m for m in printed.NOT_FOUND if any(r.model == m for r in rows))
    if missing:
        notes.append("No printed values found for " + ", ".join(missing) + " (searched: see "
                     "`srbench.models.published.NOT_FOUND`).")
    notes.append("Latency: median of the timed repeats on the named device and runtime (`runtime: auto` picks per "
                 "cell); compare latencies only within one device and runtime.")
    return notes


def field_sentences(rows: list[FieldRow], scale: int) -> list[str]:
    """What the table shows, computed from its numbers: the best model per Mult-Adds band on the hardest measured
    set, and the largest |measured − published| among values printed for the released weights and for variants."""
    if not rows:
        return []
    cols = [c for c in columns_of(rows) if any(c in r.scores for r in rows)]
    target = "Urban100" if "Urban100" in cols else cols[-1] if cols else None
    out = []
    if target:
        for lo, hi in BANDS:
            band = [r for r in rows if r.mult_adds_g and lo <= r.mult_adds_g < hi and target in r.scores]
            if band:
                best = max(band, key=lambda r: r.scores[target][0])
                label = f"{lo:g}-{hi:g} G" if hi != math.inf else f"≥ {lo:g} G"
                out.append(f"x{scale}, {label} Mult-Adds: best on {target} is {best.label} "
                           f"({best.scores[target][0]:.2f} dB, {best.mult_adds_g:.1f} G) of {len(band)} model(s).")
    for exact, what in ((True, "printed for the released weights"), (False, "printed for another variant")):
        deltas = [(abs(d), d, r, c) for r in rows for c in r.published
                  if r.published[c].for_released_weights == exact and (d := delta(r, c)) is not None]
        if deltas:
            _, d, r, c = max(deltas, key=lambda t: (t[0], t[2].label, t[3]))
            out.append(f"x{scale}: largest |measured − published| {what}: {r.label} on {c}, {_signed(d)} dB "
                       f"(measured {r.scores[c][0]:.2f}, published {r.published[c].psnr:.2f}; "
                       f"{len(deltas)} comparison(s)).")
    return out


@dataclass
class Field:
    """The field section's content: per scale, its rows, table and sentences; the experiments read."""

    rows: dict[int, list[FieldRow]]
    tables: list[Table]
    sentences: list[str]
    experiments: list[str]


def read_field(store: collect.Store) -> Field | None:
    """The field from every experiment of the store; None when no field model has a standard-protocol cell."""
    from srbench.models.field import FAMILIES

    results, cells, names = read_cells(store)
    if cells.empty or not set(cells["model"]) & set(FAMILIES):
        return None
    by_scale = {s: field_rows(results, cells, s) for s in sorted(set(cells["scale"]))}
    by_scale = {s: rows for s, rows in by_scale.items() if rows}
    read = (f"Cells of experiment(s) {', '.join(f'`{n}`' for n in names)}: protocol {PROTOCOL}, released weights, "
            f"BatchNorm {BN_MODE}; a cell two experiments share (one `srbench.cell_key`) counts once.")
    return Field(rows=by_scale, tables=[field_table(rows, s) for s, rows in by_scale.items()],
                 sentences=[read, *(t for s, rows in by_scale.items() for t in field_sentences(rows, s))],
                 experiments=names)
