"""The paper table: PSNR/SSIM (Y) per model row and dataset x scale column, with parameters and Mult-Adds, the
measured rows marked best / second best and the published rows listed under them (never marked).

Best / second-best marking: per column and separately for PSNR and SSIM, on the values *as printed* (2 and 4
decimals), among the measured rows only; ties share the mark. Published rows (labelled "(published: <source>)") are
listed below the measured ones, after a rule, and never marked: they were measured elsewhere, under their authors'
protocol, so they are shown for reference, not ranked.
"""

from __future__ import annotations

import pandas as pd

from srbench.report import reference as ref
from srbench.report.collect import Benchmark
from srbench.report.render import Part, Table
from srbench.report.tables.format import DASH, fmt, fmt_g, fmt_params, marks, ok
from srbench.report.tables.frames import (columns, identities, measured_at, newest_label, protocol_note, run_ids,
                                          select_identity)
from srbench.track import schema


def _pub_cell(pub: ref.Published, key) -> str:
    if key not in pub.scores:
        return DASH
    p, s = pub.scores[key]
    return f"{p:.2f}/{s:.4f}"


def _measured(res: pd.DataFrame, cells: pd.DataFrame, ident: tuple) -> dict:
    """One measured row's values: label, {(set, scale): (psnr, ssim)}, parameter counts, {scale: Mult-Adds}, runs."""
    r = select_identity(res, ident)
    c = select_identity(cells, ident)
    return {"label": newest_label(r), "ident": ident, "runs": run_ids(r), "measure_out": measured_at(c),
            "vals": {(d, int(s)): (p, q)
                     for d, s, p, q in r[["dataset", "scale", "psnr", "ssim"]].itertuples(index=False)},
            "params": sorted({int(p) for p in c["params"] if ok(p)}),
            "madds": {int(s): m for s, m in c[["scale", "mult_adds_g"]].itertuples(index=False)}}


def _measured_rows(data: list[dict], cols: list, scales: list[int], protocol: str) -> tuple[list, list]:
    """The measured rows (marked) and their CSV records."""
    psnr_marks = {col: marks([d["vals"].get(col, (None, None))[0] for d in data], 2) for col in cols}
    ssim_marks = {col: marks([d["vals"].get(col, (None, None))[1] for d in data], 4) for col in cols}
    rows, csv_rows = [], []
    for i, d in enumerate(data):
        ident, params = d["ident"], d["params"]
        row = [d["label"], "/".join(fmt_params(p) for p in params) or DASH] + [fmt_g(d["madds"].get(s)) for s in scales]
        rec = {"model": d["label"], "arch": ident[0], "weights": ident[1], "group": ident[2], "bn_mode": ident[3],
               "protocol": protocol, "source": "measured", "params": params[0] if len(params) == 1 else None}
        for s in scales:
            rec[schema.at_scale(schema.MULT_ADDS, s)] = d["madds"].get(s)
        rec["measure_out"] = d["measure_out"]
        for col in cols:
            p, q = d["vals"].get(col, (None, None))
            row.append([Part(f"{p:.2f}", psnr_marks[col][i]), Part("/"), Part(fmt(q, 4), ssim_marks[col][i])]
                       if ok(p) else DASH)
            rec[f"{col[0]}_x{col[1]}_psnr"] = p
            rec[f"{col[0]}_x{col[1]}_ssim"] = q
        row.append(d["runs"])
        rec["runs"] = d["runs"]
        rows.append(row)
        csv_rows.append(rec)
    return rows, csv_rows


def _published_row(pub: ref.Published, cols: list, scales: list[int]) -> tuple[list, dict]:
    """A published row (as its paper printed it) and its CSV record."""
    params = sorted(set(pub.params.values()))
    row = [pub.label, "/".join(fmt_params(p) for p in params) or DASH] + \
          [fmt_g(pub.mult_adds_g.get(s)) for s in scales] + [_pub_cell(pub, col) for col in cols] + [DASH]
    rec = {"model": pub.name, "arch": pub.model, "weights": pub.weights or "", "group": "", "bn_mode": "",
           "protocol": "", "source": f"published: {pub.source}", "params": params[0] if params else None}
    for s in scales:
        rec[schema.at_scale(schema.MULT_ADDS, s)] = pub.mult_adds_g.get(s)
    rec["measure_out"] = ref.PUBLISHED_MEASURE_OUT
    for col in cols:
        p, q = pub.scores.get(col, (None, None))
        rec[f"{col[0]}_x{col[1]}_psnr"] = p
        rec[f"{col[0]}_x{col[1]}_ssim"] = q
    rec["runs"] = ""
    return row, rec


def _notes(bench: Benchmark, protocol: str, at: str | None, pubs: list[ref.Published]) -> list[str]:
    notes = [protocol_note(bench, protocol),
             "PSNR (dB) / SSIM on the Y channel; **bold** = best, _underlined_ = second best per column among the "
             "measured rows (on the printed values; ties share a mark; a column with a single measured value is not "
             "marked). Published rows are listed last and not marked: they come from their papers, not from this "
             "store.",
             "Params: total parameter count in thousands (the measured `params` metric). Mult-Adds: per image for "
             f"the output size (height x width) in the header ({at or 'differing between rows: see the CSV'}); the "
             f"published rows are for {ref.PUBLISHED_MEASURE_OUT} (720p), as in the CARN paper.",
             "Run: the short MLflow run id(s) of the cell runs behind the row (one per scale)."]
    if pubs:
        notes.append("Published sources: " + "; ".join(f"{p.name}: {p.source}" for p in pubs) + ".")
    return notes


def paper_table(bench: Benchmark, protocol: str, name: str = "paper_table",
                published: tuple[ref.Published, ...] = ref.PUBLISHED) -> Table | None:
    """Rows = model (weights, BN mode), columns = dataset x scale, cells PSNR/SSIM (Y), params and Mult-Adds."""
    res = bench.results[(bench.results["protocol"] == protocol) & (bench.results["metric_color"] == "y")]
    if res.empty:
        return None
    cells = bench.cells[bench.cells["protocol"] == protocol]
    cols = columns(res)
    scales = sorted({s for _, s in cols})
    at = measured_at(cells)
    header = [("", "Model"), ("", "Params")] + [(f"Mult-Adds (G, {at or 'per row'} out)", f"x{s}") for s in scales] + \
             [(d, f"x{s}") for d, s in cols] + [("", "Run")]
    rows, csv_rows = _measured_rows([_measured(res, cells, i) for i in identities(res)], cols, scales, protocol)
    first_pub = len(rows)
    pubs = [p for p in published if any(k in p.scores for k in cols)]
    for pub in pubs:
        row, rec = _published_row(pub, cols, scales)
        rows.append(row)
        csv_rows.append(rec)
    return Table(name=name, title=f"PSNR/SSIM (Y) by dataset and scale — protocol {protocol}", columns=header,
                 rows=rows, csv=pd.DataFrame(csv_rows), notes=_notes(bench, protocol, at, pubs),
                 align="l" + "r" * (len(header) - 2) + "l", rules=[first_pub] if first_pub < len(rows) else [])
