"""The report's tables, built from the frames of :mod:`bench.report.collect` (and per-image artifacts).

Every function returns a :class:`bench.report.render.Table` (or None when it has nothing to show) whose rows are in a
fixed order and name the MLflow run(s) they came from (short ids).

Best / second-best marking (paper table): per column and separately for PSNR and SSIM, on the values *as printed*
(2 and 4 decimals), among the measured rows only; ties share the mark. Published rows (labelled "(published:
<source>)") are listed below the measured ones, after a rule, and never marked: they were measured elsewhere, under
their authors' protocol, so they are shown for reference, not ranked.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from srbench.report import reference as ref
from srbench.report.bootstrap import BootstrapCI, bootstrap_mean, paired_bootstrap, paired_frames
from srbench.report.collect import Benchmark, Store, dataset_rank, row_label, row_sort_key, training_time
from srbench.report.render import BEST, SECOND, Part, Table
from srbench.track import schema
from srbench.track.metric_plan import TABLE1_DATASETS, TABLE1_SCALE

DASH = "—"
ECDN_SETS, ECDN_SCALE = TABLE1_DATASETS, TABLE1_SCALE
SWEPT_KEYS = ("group", "loss", "smoothl1_beta")


# ----------------------------------------------------------------------------------------------------------- helpers
def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def fmt(v, digits: int) -> str:
    return f"{v:.{digits}f}" if _ok(v) else DASH


def fmt_params(p) -> str:
    """Parameters in thousands as papers print them (``1,592K``); dash for none (bicubic)."""
    return f"{p / 1e3:,.0f}K" if _ok(p) and p > 0 else DASH


def fmt_g(g) -> str:
    return f"{g:.1f}G" if _ok(g) and g > 0 else DASH


def marks(values: list, digits: int) -> list[str | None]:
    """Best / second-best marks on the values as printed (rounded to ``digits``); missing values get none, and a
    column with fewer than two values is not marked (there is nothing to compare)."""
    printed = [round(v, digits) if _ok(v) else None for v in values]
    if sum(v is not None for v in printed) < 2:
        return [None] * len(printed)
    distinct = sorted({v for v in printed if v is not None}, reverse=True)
    best = distinct[0] if distinct else None
    second = distinct[1] if len(distinct) > 1 else None
    return [BEST if v is not None and v == best else SECOND if v is not None and v == second else None
            for v in printed]


def _identities(frame: pd.DataFrame, cols=("model", "weights", "group", "bn_mode")) -> list[tuple]:
    ids = {tuple(r) for r in frame[list(cols)].itertuples(index=False)}
    return sorted(ids, key=lambda i: row_sort_key(*i) if len(i) >= 4 else i)


def _select(frame: pd.DataFrame, **eq) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in eq.items():
        mask &= (frame[k] == v).to_numpy()
    return frame[mask]


def _columns(results: pd.DataFrame) -> list[tuple[str, int]]:
    pairs = {(d, int(s)) for d, s in results[["dataset", "scale"]].itertuples(index=False)}
    return sorted(pairs, key=lambda p: (dataset_rank(p[0]), p[1]))


def _label(res: pd.DataFrame) -> str:
    """The row label (from the newest run's tags)."""
    return res.sort_values("start_time", ascending=False)["label"].iloc[0]


def _runs(res: pd.DataFrame) -> str:
    """The short ids of the runs behind a row, in scale then dataset order, each once."""
    ordered = res.assign(_d=[dataset_rank(d) for d in res["dataset"]]).sort_values(["scale", "_d"])
    seen = []
    for s in ordered["short"]:
        if s not in seen:
            seen.append(s)
    return " ".join(seen)


def protocols(bench: Benchmark, color: str | None = "y", main: str = "standard") -> list[str]:
    """Protocol presets present in a benchmark (those measured on ``color``), ``main`` first, then by name."""
    if bench is None or bench.empty:
        return []
    res = bench.results if color is None else bench.results[bench.results["metric_color"] == color]
    names = sorted(set(res["protocol"]))
    return sorted(names, key=lambda n: (n != main, n))


def protocol_note(bench: Benchmark, protocol: str) -> str:
    """One line saying which protocol (and which gray-image handling) a table used."""
    res = bench.results[bench.results["protocol"] == protocol]
    grays = sorted(set(res["gray"]))
    colors = sorted(set(res["metric_color"]))
    gray_text = {"replicate": "gray images replicated to RGB and measured like colour ones",
                 "raw": "gray images measured on their own values (paper-compatible)"}
    return (f"Protocol `{protocol}` (colour {'/'.join(c.upper() for c in colors)}; "
            + "; ".join(gray_text.get(g, f"gray={g}") for g in grays) + ").")


def measured_at(frame: pd.DataFrame) -> str | None:
    """The one output size (``HxW``, tag ``srbench.measure_out``) the rows' Mult-Adds, latency and memory were
    measured at, for the column headers; None when the rows differ (then each row names its own)."""
    sizes = sorted(set(frame["measure_out"])) if "measure_out" in frame and len(frame) else [schema.LEGACY_MEASURE_OUT]
    return sizes[0] if len(sizes) == 1 else None


def _pub_cell(pub: ref.Published, key) -> str:
    if key not in pub.scores:
        return DASH
    p, s = pub.scores[key]
    return f"{p:.2f}/{s:.4f}"


# --------------------------------------------------------------------------------------------------- the paper table
def paper_table(bench: Benchmark, protocol: str, name: str = "paper_table",
                published: tuple[ref.Published, ...] = ref.PUBLISHED) -> Table | None:
    """Rows = model (weights, BN mode), columns = dataset x scale, cells PSNR/SSIM (Y), params and Mult-Adds."""
    res = bench.results[(bench.results["protocol"] == protocol) & (bench.results["metric_color"] == "y")]
    if res.empty:
        return None
    cells = bench.cells[bench.cells["protocol"] == protocol]
    cols = _columns(res)
    scales = sorted({s for _, s in cols})
    idents = _identities(res)
    data = []  # (label, ident, {col: (psnr, ssim)}, params text, {scale: mult_adds}, runs)
    for ident in idents:
        r = _select(res, model=ident[0], weights=ident[1], group=ident[2], bn_mode=ident[3])
        c = _select(cells, model=ident[0], weights=ident[1], group=ident[2], bn_mode=ident[3])
        vals = {(d, int(s)): (p, q) for d, s, p, q in r[["dataset", "scale", "psnr", "ssim"]].itertuples(index=False)}
        params = sorted({int(p) for p in c["params"] if _ok(p)})
        madds = {int(s): m for s, m in c[["scale", "mult_adds_g"]].itertuples(index=False)}
        data.append((_label(r), ident, vals, params, madds, _runs(r)))

    at = measured_at(cells)
    header = [("", "Model"), ("", "Params")] + [(f"Mult-Adds (G, {at or 'per row'} out)", f"x{s}") for s in scales] + \
             [(d, f"x{s}") for d, s in cols] + [("", "Run")]
    rows, csv_rows = [], []
    psnr_marks = {col: marks([d[2].get(col, (None, None))[0] for d in data], 2) for col in cols}
    ssim_marks = {col: marks([d[2].get(col, (None, None))[1] for d in data], 4) for col in cols}
    for i, (label, ident, vals, params, madds, runs) in enumerate(data):
        row = [label, "/".join(fmt_params(p) for p in params) or DASH] + [fmt_g(madds.get(s)) for s in scales]
        rec = {"model": label, "arch": ident[0], "weights": ident[1], "group": ident[2], "bn_mode": ident[3],
               "protocol": protocol, "source": "measured", "params": params[0] if len(params) == 1 else None}
        for s in scales:
            rec[schema.at_scale(schema.MULT_ADDS, s)] = madds.get(s)
        rec["measure_out"] = measured_at(c)
        for col in cols:
            p, q = vals.get(col, (None, None))
            if _ok(p):
                row.append([Part(f"{p:.2f}", psnr_marks[col][i]), Part("/"), Part(fmt(q, 4), ssim_marks[col][i])])
            else:
                row.append(DASH)
            rec[f"{col[0]}_x{col[1]}_psnr"] = p
            rec[f"{col[0]}_x{col[1]}_ssim"] = q
        row.append(runs)
        rec["runs"] = runs
        rows.append(row)
        csv_rows.append(rec)
    first_pub = len(rows)
    for pub in published:
        if not any(k in pub.scores for k in cols):
            continue
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
        rows.append(row)
        csv_rows.append(rec)
    notes = [protocol_note(bench, protocol),
             "PSNR (dB) / SSIM on the Y channel; **bold** = best, _underlined_ = second best per column among the "
             "measured rows (on the printed values; ties share a mark; a column with a single measured value is not "
             "marked). Published rows are listed last and not marked: they come from their papers, not from this "
             "store.",
             "Params: total parameter count in thousands (the measured `params` metric). Mult-Adds: per image for "
             f"the output size (height x width) in the header ({at or 'differing between rows: see the CSV'}); the "
             f"published rows are for {ref.PUBLISHED_MEASURE_OUT} (720p), as in the CARN paper.",
             "Run: the short MLflow run id(s) of the cell runs behind the row (one per scale)."]
    pubs = [p for p in published if any(k in p.scores for k in cols)]
    if pubs:
        notes.append("Published sources: " + "; ".join(f"{p.name}: {p.source}" for p in pubs) + ".")
    return Table(name=name, title=f"PSNR/SSIM (Y) by dataset and scale — protocol {protocol}", columns=header,
                 rows=rows, csv=pd.DataFrame(csv_rows), notes=notes, align="l" + "r" * (len(header) - 2) + "l",
                 rules=[first_pub] if first_pub < len(rows) else [])


# ------------------------------------------------------------------------------------------ measured vs reference
def find_identity(bench: Benchmark, protocol: str, reference: str) -> tuple | None:
    """The row identity named by ``reference`` (a label, a weights name or a model name; eval BN preferred)."""
    res = bench.results[bench.results["protocol"] == protocol]
    idents = _identities(res)
    for test in (lambda i, lab: lab == reference, lambda i, lab: i[1] == reference, lambda i, lab: i[0] == reference):
        hits = [i for i in idents if test(i, row_label(i[0], i[1], i[3], "", i[2]))]
        hits += [i for i in idents if i not in hits and test(i, _label(_select(res, model=i[0], weights=i[1],
                                                                                   group=i[2], bn_mode=i[3])))]
        if hits:
            return sorted(hits, key=lambda i: (i[3] != "eval", row_sort_key(*i)))[0]
    return None


def reference_table(bench: Benchmark, store: Store, protocol: str, reference: str = "bicubic", *,
                    n_resamples: int = 10_000, seed: int = 0) -> tuple[Table | None, str | None]:
    """Each measured row against a reference row: mean per-image PSNR difference with a paired bootstrap 95% CI."""
    res = bench.results[(bench.results["protocol"] == protocol)]
    if res.empty:
        return None, None
    ref_id = find_identity(bench, protocol, reference)
    if ref_id is None:
        return None, f"reference model {reference!r} has no cells under protocol {protocol}; no paired comparison."
    ref_res = _select(res, model=ref_id[0], weights=ref_id[1], group=ref_id[2], bn_mode=ref_id[3])
    ref_label = _label(ref_res)
    cols = _columns(res)
    header = [("", "Model")] + [(d, f"x{s}") for d, s in cols] + [("", "Run")]
    rows, csv_rows = [], []
    for ident in _identities(res):
        if ident == ref_id:
            continue
        r = _select(res, model=ident[0], weights=ident[1], group=ident[2], bn_mode=ident[3])
        row, rec = [_label(r)], {"model": _label(r), "reference": ref_label}
        for d, s in cols:
            a = _select(r, dataset=d, scale=s)
            b = _select(ref_res, dataset=d, scale=s)
            ci = None
            if not a.empty and not b.empty:
                ci = paired_ci(store.per_image(a["run_id"].iloc[0], d), store.per_image(b["run_id"].iloc[0], d),
                               n_resamples=n_resamples, seed=seed)
            row.append(ci.text() if ci else (DASH if a.empty or b.empty else "no per-image"))
            rec.update(_ci_record(f"{d}_x{s}", ci))
        row.append(_runs(r) + " vs " + _runs(ref_res))
        rec["runs"] = row[-1]
        rows.append(row)
        csv_rows.append(rec)
    if not rows:
        return None, None
    notes = [protocol_note(bench, protocol),
             f"Mean per-image PSNR difference (dB) of each model minus {ref_label}, with a paired bootstrap 95% "
             f"confidence interval ({n_resamples:,} resamples of the images, seed {seed}); `*` = the interval "
             "excludes 0.", "Run: the model's runs vs the reference's runs (short ids)."]
    return Table(name="vs_reference", title=f"Gain over {ref_label} (PSNR, dB, 95% CI) — protocol {protocol}",
                 columns=header, rows=rows, csv=pd.DataFrame(csv_rows), notes=notes), None


def paired_ci(pa: pd.DataFrame | None, pb: pd.DataFrame | None, *, n_resamples: int, seed: int) -> BootstrapCI | None:
    """Paired bootstrap CI of mean per-image PSNR a - b over the images both frames hold; None when there are fewer
    than two such images or a PSNR is infinite (identical images)."""
    if pa is None or pb is None:
        return None
    x, y, _ = paired_frames(pa, pb)
    if len(x) < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    return paired_bootstrap(x, y, n_resamples=n_resamples, seed=seed)


def _ci_record(prefix: str, ci: BootstrapCI | None) -> dict:
    if ci is None:
        return {f"{prefix}_delta": None, f"{prefix}_ci_low": None, f"{prefix}_ci_high": None}
    return {f"{prefix}_delta": ci.mean, f"{prefix}_ci_low": ci.low, f"{prefix}_ci_high": ci.high}


# ----------------------------------------------------------------------------------------------- paper vs measured
def _nearest_cell(nearest, pub: ref.Published, dataset: str, scale: int, d_psnr: float, d_ssim: float | None) -> str:
    """The "Nearest knob" cell of a published row: the explain run's nearest deviation where |Δ| exceeds the
    rounding of the printed values (half a unit of their last digit), "within rounding" otherwise, a dash when no
    explain run covers the cell."""
    if abs(d_psnr) <= 0.005 and (d_ssim is None or abs(d_ssim) <= 0.00005):
        return "within rounding"
    psnr, ssim = pub.scores[(dataset, scale)]
    return nearest(model=pub.model, weights=pub.weights, dataset=dataset, scale=scale, psnr=psnr, ssim=ssim) or DASH


def paper_vs_measured(bench: Benchmark, store: Store, protocols_: list[str], *, n_resamples: int = 10_000,
                      seed: int = 0, published: tuple[ref.Published, ...] = ref.PUBLISHED,
                      nearest=None) -> tuple[Table | None, list[str]]:
    """Each published value beside the measured one (same model, released weights, eval BN), the difference, a flag
    when |difference| > 0.05 dB, and a bootstrap CI of the difference over the images when per-image values exist.

    ``nearest(model=, weights=, dataset=, scale=, psnr=, ssim=)``: where given (logged ``srbench explain`` runs,
    :func:`srbench.report.sensitivity.nearest_knob`), a "Nearest knob" column names, for each row whose |Δ| exceeds
    the rounding of the printed value, the protocol deviation nearest to it (a dash where none was measured)."""
    header = [("", "Model"), ("", "Protocol"), ("", "Set"), ("", "Scale"), ("PSNR", "published"),
              ("PSNR", "measured"), ("PSNR", "Δ"), ("PSNR", "Δ 95% CI"), ("PSNR", "flag"), ("SSIM", "published"),
              ("SSIM", "measured"), ("SSIM", "Δ")] + ([("", "Nearest knob")] if nearest else []) + [("", "Run")]
    rows, csv_rows, notes = [], [], []
    for pub in published:
        found = False
        for proto in protocols_:
            res = bench.results[(bench.results["protocol"] == proto) & (bench.results["metric_color"] == "y")
                                & (bench.results["model"] == pub.model) & (bench.results["bn_mode"] == "eval")]
            res = res[res["weights"].isin([pub.weights or "", pub.model] if pub.weights is None else [pub.weights])]
            for (d, s), (pp, ps) in sorted(pub.scores.items(), key=lambda kv: (dataset_rank(kv[0][0]), kv[0][1])):
                m = _select(res, dataset=d, scale=s)
                if m.empty:
                    continue
                found = True
                m = m.iloc[0]
                dp, ds_ = m["psnr"] - pp, (m["ssim"] - ps if _ok(m["ssim"]) else None)
                ci = None
                per = store.per_image(m["run_id"], d)
                if per is not None and len(per) >= 2 and np.isfinite(per["psnr"]).all():
                    ci = bootstrap_mean(per["psnr"].to_numpy() - pp, n_resamples=n_resamples, seed=seed)
                flag = "|Δ| > 0.05 dB" if abs(dp) > ref.FLAG_DB else ""
                knob = [_nearest_cell(nearest, pub, d, s, dp, ds_)] if nearest else []
                rows.append([pub.name, proto, d, f"x{s}", f"{pp:.2f}", f"{m['psnr']:.3f}", f"{dp:+.3f}",
                             ci.text(3) if ci else "no per-image", flag, f"{ps:.4f}", fmt(m["ssim"], 4),
                             f"{ds_:+.4f}" if ds_ is not None else DASH, *knob, m["short"]])
                csv_rows.append({"model": pub.name, "source": pub.source, "protocol": proto, "dataset": d,
                                 "scale": s, "psnr_published": pp, "psnr_measured": m["psnr"], "psnr_delta": dp,
                                 **_ci_record("psnr", ci), "flagged": bool(flag), "ssim_published": ps,
                                 "ssim_measured": m["ssim"], "ssim_delta": ds_,
                                 **({"nearest_knob": knob[0]} if knob else {}), "run": m["short"]})
        if not found:
            notes.append(f"{pub.name}: no measured cells (model {pub.model}"
                         + (f", weights {pub.weights}" if pub.weights else "")
                         + ", eval BN) in this store; it appears only with its published numbers.")
    if not rows:
        return None, notes
    sources = sorted({p.source for p in published})
    table_notes = ["Δ = measured − published (dB / SSIM units); flagged when |Δ PSNR| > 0.05 dB. Published values "
                   "are rounded to 2 (PSNR) and 4 (SSIM) decimals, so |Δ| up to 0.005 dB is rounding alone.",
                   "Δ 95% CI: bootstrap over the images of the per-image PSNR minus the published mean: how much "
                   "the gap would move with other images like these. It is NOT a test of whether this measurement "
                   "matches the paper's: both are on the same images, so a Δ beyond rounding is a real, "
                   "deterministic difference of protocol or weights however wide the interval. "
                   "`*` = the interval excludes 0.",
                   "Sources: " + "; ".join(sources) + ".",
                   reproduction_summary(pd.DataFrame(csv_rows))] + notes
    if nearest:
        table_notes.insert(1, "Nearest knob: for a row whose |Δ| exceeds the rounding of the printed value, the "
                              "protocol deviation (single knob or pair) of the logged `srbench explain` run of that "
                              "cell that brings the measurement nearest to the printed value, and the residual "
                              "published − measured left after it (see docs/protocol.md); — where no explain run "
                              "covers the cell.")
    return Table(name="paper_vs_measured", title="Published versus measured (Y channel)", columns=header, rows=rows,
                 csv=pd.DataFrame(csv_rows), notes=table_notes,
                 align="llllrrrrlrrr" + ("l" if nearest else "") + "l"), notes


def reproduction_summary(frame: pd.DataFrame) -> str:
    """One sentence, computed from the published-versus-measured rows, per (published model, protocol, scale): the
    datasets within ``FLAG_DB`` of the published PSNR and those beyond it, with their Δ."""
    parts = []
    keys = list(dict.fromkeys(zip(frame["model"], frame["protocol"], frame["scale"])))
    for model, proto, scale in keys:
        g = frame[(frame["model"] == model) & (frame["protocol"] == proto) & (frame["scale"] == scale)]
        within = [d for d, flagged in zip(g["dataset"], g["flagged"]) if not flagged]
        beyond = [f"{d} ({dp:+.3f} dB)" for d, dp, flagged in zip(g["dataset"], g["psnr_delta"], g["flagged"])
                  if flagged]
        text = []
        if beyond:
            text.append(f"beyond {ref.FLAG_DB} dB on {', '.join(beyond)}")
        if within:
            text.append(f"within {ref.FLAG_DB} dB on {', '.join(within)}")
        parts.append(f"{model} x{scale} under `{proto}`: " + "; ".join(text))
    return "Computed from the rows: " + "; ".join(parts) + "." if parts else ""


# ---------------------------------------------------------------------------------------- the ECDN report's Table 1
LPIPS_NOT_MEASURED = ("n/a: not measured", "not measured: the runs logged no per-image `lpips` on all of these images "
                      "(it is on by default for Set5, Set14 and B100 at x4 and for `ecdn_report` cells, or declared "
                      "with `metrics: [psnr, ssim, lpips]`; cells logged before LPIPS was a metric lack it: rerun "
                      "`srbench benchmark`)")
LPIPS_RANGE_TEXT = {"minus_one_one": "input x/127.5 − 1 in [−1, 1] (LPIPS's documented input)",
                    "zero_one": "input x/255 in [0, 1] (torchvision `ToTensor()`, as the report's compare.py passed "
                                "it to `lpips.LPIPS(net='alex')`)"}


def _lpips_note(res: pd.DataFrame) -> str:
    """What the LPIPS columns are: the network, and the input range(s) the runs logged (``protocol.lpips_input``)."""
    ranges = sorted({r for r in res.get("lpips_input", pd.Series(dtype=str)) if r})
    how = "; ".join(f"`{r}`: {LPIPS_RANGE_TEXT.get(r, r)}" for r in ranges) or "input range not logged"
    return (f"LPIPS: v0.1 AlexNet (srbench.eval.lpips) on RGB after the protocol's border crop, {how}. LPIPS score = "
            "sum of the per-image `lpips` column over the images (as the report printed it); LPIPS mean = that sum / "
            "Images.")


def ecdn_table1_agreement(table: Table) -> str | None:
    """A sentence, computed from the table's measured − printed columns, saying how far the measured scores lie from
    the printed ones (None when no row has one: outside the report's own protocol they are left empty, since there
    the difference is the protocol's offset, not a disagreement)."""
    csv = table.csv
    if csv.empty or "psnr_score_delta" not in csv:
        return None
    parts = []
    for what, col, digits in (("PSNR score", "psnr_score_delta", 1), ("LPIPS score", "lpips_score_delta", 2)):
        rows = csv[csv[col].notna()]
        if rows.empty:
            continue
        delta = rows[col].to_numpy(dtype=float)
        worst = int(np.argmax(np.abs(delta)))
        parts.append(f"{what} by {delta.min():+.{digits}f} to {delta.max():+.{digits}f} over {len(rows)} row(s) "
                     f"(largest |Δ| {abs(delta[worst]):.{digits}f}, {rows['model'].iloc[worst]})")
    if not parts:
        return None
    return "Measured − printed: " + "; ".join(parts) + "."


_TABLE1_HEADER = [("", "Model"), ("LPIPS", "score"), ("LPIPS", "mean"), ("", "PSNR score"), ("", "SSIM sum"),
          ("", "Images"), ("printed in the report", "PSNR score"), ("printed in the report", "LPIPS score"),
          ("measured − printed", "PSNR score"), ("measured − printed", "LPIPS score"),
          ("# parameter (effective, all heads)", "measured"), ("# parameter (effective, all heads)", "published"),
          ("", "Training time"), ("", "Run")]


def _table1_notes(bench: Benchmark, res, protocol: str, double: bool, lpips_missing) -> list[str]:
    """The notes under Table 1: protocol, what the sums are, how they compare with the printed scores, sources."""
    return [protocol_note(bench, protocol),
             f"Scores are SUMS over the {'+'.join(ECDN_SETS)} images at x{ECDN_SCALE} (119 images when complete; "
             "see the Images column) of the per-image values in the runs' `per_image/<Set>.csv` artifacts.",
             ("This protocol reproduces the report's scripts (RGB, no border crop, truncated output, BN in training "
              "mode, images divided by 255 twice for PSNR, [0, 1] images into LPIPS), so these sums are computed "
              "the way the printed scores were."
              if double else
              "The report's script divided images by 255 twice, adding 20·log10(255) = 48.13 dB to every image: "
              "its printed score ≈ (sum under its own protocol) + 119 × 48.13 dB (= +5727). It also measured RGB "
              "without border crop, truncated the output, left BN in training mode and gave LPIPS [0, 1] images, "
              "so these sums are not directly comparable to the printed ones (no measured − printed shown); a "
              "benchmark run with protocol `ecdn_report` is."),
             _lpips_note(res) + (f" Rows marked n/a: {LPIPS_NOT_MEASURED[1]}." if lpips_missing else ""),
             f"Printed scores: {ref.ECDN_TABLE1_PRINTED_SOURCE}, typed in from the report with their source, per "
             "released checkpoint (the `*_half` files are its 1-GPU-day rows).",
             "# parameter: the parameters some forward pass uses, over every scale's head (the measured "
             f"`params_effective`; the report's count, e.g. 396,955 for ECDN-M, whose unused c4 is left out). "
             f"Published: {ref.ECDN_TABLE1_SOURCE} (`bench/report/reference.py`). Training time: from the linked "
             "training run for `run:<id>` weights, else 'released checkpoint'."]


def ecdn_table1(bench: Benchmark, store: Store, protocol: str) -> tuple[Table | None, str | None]:
    """Per model row: SUM over the 119 images of Set5 + Set14 + B100 at x4 of PSNR, SSIM and LPIPS (from the per-image
    artifacts; LPIPS also as a mean), beside the printed scores, parameter count and training time — the ECDN report's
    Table 1 in its own form."""
    res = bench.results[(bench.results["protocol"] == protocol) & (bench.results["scale"] == ECDN_SCALE)]
    if res.empty:
        return None, None
    double = bool(res["double_scale"].any())
    cells = bench.cells
    rows, csv_rows, skipped = [], [], []
    lpips_missing = False
    for ident in _identities(res):
        r = _select(res, model=ident[0], weights=ident[1], group=ident[2], bn_mode=ident[3])
        label = _label(r)
        frames, missing = [], []
        for d in ECDN_SETS:
            m = _select(r, dataset=d)
            per = store.per_image(m["run_id"].iloc[0], d) if not m.empty else None
            if per is None:
                missing.append(d)
            else:
                frames.append(per.assign(dataset=d))
        if missing:
            skipped.append(f"{label}: no per-image results for {', '.join(missing)} at x{ECDN_SCALE}")
            continue
        per = pd.concat(frames, ignore_index=True)
        n = len(per)
        psnr_sum, ssim_sum = float(per["psnr"].sum()), float(per["ssim"].sum())
        lpips_sum = lpips_mean = None
        if "lpips" in per and per["lpips"].notna().all():
            lpips_sum = float(per["lpips"].sum())
            lpips_mean = lpips_sum / n
        else:
            lpips_missing = True
        c = _select(cells, model=ident[0], weights=ident[1], group=ident[2], bn_mode=ident[3], protocol=protocol,
                    scale=ECDN_SCALE)
        params = c[schema.PARAMS_EFFECTIVE].iloc[0] if not c.empty else None  # the report counts those used
        published_params = ref.ECDN_TABLE1_PARAMS.get(ident[0])
        ttime = training_time(store, ident[1]) if ident[0] != "bicubic" else DASH
        runs = _runs(r)
        printed = ref.ECDN_TABLE1_PRINTED.get(ident[1])
        if printed and ttime == "released checkpoint":
            ttime = f"released checkpoint: {printed[2]} (per the report)"
        # measured − printed only where the protocol is the report's own: otherwise the offset is the protocol's
        d_psnr = psnr_sum - printed[1] if printed and double else None
        d_lpips = lpips_sum - printed[0] if printed and double and lpips_sum is not None else None
        rows.append([label, f"{lpips_sum:.1f}" if lpips_sum is not None else LPIPS_NOT_MEASURED[0],
                     fmt(lpips_mean, 4), f"{psnr_sum:.1f}", f"{ssim_sum:.2f}", str(n),
                     f"{printed[1]:.0f}" if printed else DASH, f"{printed[0]:.1f}" if printed else DASH,
                     f"{d_psnr:+.1f}" if d_psnr is not None else DASH,
                     f"{d_lpips:+.2f}" if d_lpips is not None else DASH,
                     f"{int(params):,}" if _ok(params) and params > 0 else DASH,
                     f"{published_params:,}" if published_params else DASH, ttime, runs])
        csv_rows.append({"model": label, "arch": ident[0], "weights": ident[1], "bn_mode": ident[3],
                         "protocol": protocol, "lpips_sum": lpips_sum, "lpips_mean": lpips_mean,
                         "psnr_sum": psnr_sum, "ssim_sum": ssim_sum,
                         "n_images": n, "printed_psnr_score": printed[1] if printed else None,
                         "printed_lpips_score": printed[0] if printed else None,
                         "psnr_score_delta": d_psnr, "lpips_score_delta": d_lpips,
                         "params_effective": int(params) if _ok(params) else None,
                         "params_published": published_params, "training_time": ttime, "runs": runs})
    if not rows:
        return None, ("ECDN Table 1 (protocol " + protocol + "): " + "; ".join(skipped)) if skipped else None
    header = _TABLE1_HEADER
    notes = _table1_notes(bench, res, protocol, double, lpips_missing) + skipped
    table = Table(name=f"ecdn_table1_{protocol}", title=f"ECDN report Table 1 in its own form — protocol {protocol}",
                  columns=header, rows=rows, csv=pd.DataFrame(csv_rows), notes=notes, align="lrrrrrrrrrrrll")
    agreement = ecdn_table1_agreement(table)
    if agreement:
        table.notes.insert(3, agreement)
    return table, None


# ------------------------------------------------------------------------------------------------------- efficiency
def efficiency_table(bench: Benchmark, protocol: str, dataset: str = "Set14") -> Table | None:
    """Params (total, effective over all heads), Mult-Adds, latency (device named) and peak memory at the output size
    they were measured at, PSNR per Mult-Add."""
    cells = bench.cells[bench.cells["protocol"] == protocol]
    if cells.empty:
        return None
    res = bench.results[bench.results["protocol"] == protocol]
    at = measured_at(cells)
    out = f"{at} out" if at else "at Output"
    header = [("", "Model"), ("", "Scale"), ("", "Params (total)"), ("", "Params (effective, all heads)")] + \
             ([] if at else [("", "Output (HxW)")]) + \
             [("", f"Mult-Adds (G, {out})"), (f"Latency (ms, {out})", "median"), (f"Latency (ms, {out})", "IQR"),
              ("", "Device"), ("", "Runtime"), ("", f"Peak mem (MiB, {out})"), ("", f"PSNR {dataset} (dB)"),
              ("", "PSNR / GMult-Adds"), ("", "Run")]
    rows, csv_rows = [], []
    for c in cells.itertuples(index=False):
        m = _select(res, model=c.model, weights=c.weights, group=c.group, bn_mode=c.bn_mode, scale=c.scale,
                    dataset=dataset)
        psnr = m["psnr"].iloc[0] if not m.empty else None
        per_madd = psnr / c.mult_adds_g if _ok(psnr) and _ok(c.mult_adds_g) and c.mult_adds_g > 0 else None
        rows.append([c.label, f"x{c.scale}", f"{int(c.params):,}" if _ok(c.params) and c.params > 0 else DASH,
                     f"{int(c.params_effective):,}" if _ok(c.params_effective) and c.params_effective > 0 else DASH,
                     *([] if at else [c.measure_out]),
                     fmt(c.mult_adds_g, 1) if _ok(c.mult_adds_g) and c.mult_adds_g > 0 else DASH,
                     fmt(c.latency_ms, 1), fmt(c.latency_iqr_ms, 1), c.device_name or DASH, c.runtime or DASH,
                     fmt(c.peak_mem_mb, 1), fmt(psnr, 2), fmt(per_madd, 3), c.short])
        csv_rows.append({"model": c.label, "arch": c.model, "weights": c.weights, "bn_mode": c.bn_mode,
                         "scale": c.scale, "params": c.params, "params_effective": c.params_effective,
                         "measure_out": c.measure_out, "mult_adds_g": c.mult_adds_g, "latency_ms": c.latency_ms,
                         "latency_iqr_ms": c.latency_iqr_ms, "device": c.device_name, "runtime": c.runtime, "peak_mem_mb": c.peak_mem_mb,
                         f"psnr_{dataset}": psnr,
                         "psnr_per_gmult_add": per_madd, "run": c.short})
    order = sorted(range(len(rows)), key=lambda i: (csv_rows[i]["scale"],) + row_sort_key(
        csv_rows[i]["arch"], csv_rows[i]["weights"], "", csv_rows[i]["bn_mode"]))
    rows = [rows[i] for i in order]
    csv = pd.DataFrame([csv_rows[i] for i in order])
    notes = [protocol_note(bench, protocol),
             "Params (total): all parameters of the (multi-scale) model; params (effective, all heads): those some "
             "forward pass at any of its scales uses (the ECDN report's count). Mult-Adds, latency and peak memory: "
             "one forward pass producing the output size (height x width) "
             f"{f'in the headers ({at})' if at else 'in the Output column'}. "
             "Latency: median and interquartile range of the timed repeats on the named device and inference runtime "
             "(the one that ran the cell's forward passes; compare latencies only within one device and one run). Peak memory: MiB (2^20 bytes) of the pass's live tensors at their "
             "peak (activations, workspace and output; not the weights).",
             f"PSNR / GMult-Adds: the PSNR on {dataset} at the row's scale divided by the Mult-Adds in G."]
    return Table(name="efficiency", title=f"Efficiency — protocol {protocol}", columns=header, rows=rows, csv=csv,
                 notes=notes, align="llrr" + ("" if at else "l") + "rrrllrrrl")


# ------------------------------------------------------------------------------------------- runtime comparison
RUNTIME_ORDER = ("eager", "compile", "onnxruntime", "openvino")


def runtime_table(bench: Benchmark, protocol: str) -> Table | None:
    """Median latency (ms) per model, scale and inference runtime at the measured output size, device named: the
    cells measured on several runtimes (``srbench benchmark --runtimes ...``), one row each. None unless some row
    has two."""
    frame = bench.runtimes
    if frame is None or frame.empty:
        return None
    frame = frame[(frame["protocol"] == protocol) & frame["latency_ms"].notna()]
    if frame.empty:
        return None
    keys = ["model", "weights", "group", "bn_mode", "scale", "device_name", "measure_out"]
    # only the rows measured on several runtimes: the others are the efficiency table's
    groups = [(k, g) for k, g in frame.groupby(keys, sort=False, dropna=False) if g["runtime"].nunique() > 1]
    if not groups:
        return None
    frame = pd.concat([g for _, g in groups])
    present = set(frame["runtime"])
    runtimes = [r for r in RUNTIME_ORDER if r in present] + sorted(present - set(RUNTIME_ORDER))
    header = ([("", "Model"), ("", "Scale"), ("", "Output"), ("", "Device")]
              + [("Median latency (ms)", r) for r in runtimes]
              + [("", "Fastest"), ("", "Speed-up vs eager"), ("", "Runs")])
    rows, csv_rows, order = [], [], []
    for (model, weights, group, bn_mode, scale, device, out), g in groups:
        by_rt = {r.runtime: r for r in g.itertuples(index=False)}
        fastest = min(by_rt, key=lambda r: by_rt[r].latency_ms)
        eager = by_rt.get("eager")
        speedup = eager.latency_ms / by_rt[fastest].latency_ms if eager is not None else None
        cells = [[Part(fmt(by_rt[r].latency_ms, 1), BEST if r == fastest and len(by_rt) > 1 else None)]
                 if r in by_rt else DASH for r in runtimes]
        label = g.sort_values("start_time", ascending=False)["label"].iloc[0]
        rows.append([label, f"x{scale}", str(out), device or DASH, *cells, fastest,
                     f"{speedup:.2f}x" if speedup is not None else DASH,
                     " ".join(f"{r}:{by_rt[r].short}" for r in runtimes if r in by_rt)])
        csv_rows.append({"model": label, "arch": model, "weights": weights, "bn_mode": bn_mode, "scale": scale,
                         "out": out, "device": device,
                         **{f"latency_ms_{r}": by_rt[r].latency_ms if r in by_rt else None for r in runtimes},
                         **{f"latency_iqr_ms_{r}": by_rt[r].latency_iqr_ms if r in by_rt else None for r in runtimes},
                         "fastest": fastest, "speedup_vs_eager": speedup,
                         **{f"run_{r}": by_rt[r].short if r in by_rt else None for r in runtimes}})
        order.append((scale, str(device)) + row_sort_key(model, weights, group, bn_mode))
    idx = sorted(range(len(rows)), key=lambda i: order[i])
    notes = [f"Protocol `{protocol}`'s cells (latency does not depend on the protocol). Median of the timed forward "
             "passes at the output size in column Output (the experiment's `measure`), on the named device, per "
             "inference runtime; **bold**: the fastest of the row. Every runtime passed the fidelity gate (8-bit "
             "output on a probe image within 0.001 dB PSNR of eager), so the rows' PSNR/SSIM agree.",
             "Measured by `srbench benchmark --runtimes ...` (or an entry's `runtimes:`); compare latencies within a "
             "row (one device, one benchmark), not across machines."]
    return Table(name="runtimes", title=f"Runtime comparison — median latency (ms), protocol {protocol}",
                 columns=header, rows=[rows[i] for i in idx], csv=pd.DataFrame([csv_rows[i] for i in idx]),
                 notes=notes, align="lrll" + "r" * len(runtimes) + "lrl")


# ---------------------------------------------------------------------------------------------------- BN mode table
def bn_table(bench: Benchmark, store: Store, protocol: str, name: str = "bn_mode", *, n_resamples: int = 10_000,
             seed: int = 0) -> Table | None:
    """Models measured with both ``eval`` and ``batch`` BatchNorm statistics, side by side per dataset and scale."""
    res = bench.results[bench.results["protocol"] == protocol]
    if res.empty:
        return None
    header = [("", "Model"), ("", "Set"), ("", "Scale"), ("BN eval", "PSNR/SSIM"), ("BN batch", "PSNR/SSIM"),
              ("batch − eval", "Δ PSNR"), ("batch − eval", "95% CI"), ("batch − eval", "Δ SSIM"), ("", "Runs")]
    rows, csv_rows = [], []
    for model, weights, group in _identities(res, ("model", "weights", "group")):
        r = _select(res, model=model, weights=weights, group=group)
        if not {"eval", "batch"} <= set(r["bn_mode"]):
            continue
        for d, s in _columns(r):
            e = _select(r, bn_mode="eval", dataset=d, scale=s)
            b = _select(r, bn_mode="batch", dataset=d, scale=s)
            if e.empty or b.empty:
                continue
            e, b = e.iloc[0], b.iloc[0]
            ci = paired_ci(store.per_image(b["run_id"], d), store.per_image(e["run_id"], d),
                           n_resamples=n_resamples, seed=seed)
            label = _label(_select(r, bn_mode="eval"))
            dp, dq = b["psnr"] - e["psnr"], b["ssim"] - e["ssim"]
            rows.append([label, d, f"x{s}", f"{e['psnr']:.2f}/{fmt(e['ssim'], 4)}",
                         f"{b['psnr']:.2f}/{fmt(b['ssim'], 4)}", f"{dp:+.2f}",
                         ci.text() if ci else "no per-image", f"{dq:+.4f}" if _ok(dq) else DASH,
                         f"{e['short']} {b['short']}"])
            csv_rows.append({"model": label, "arch": model, "weights": weights, "dataset": d, "scale": s,
                             "psnr_eval": e["psnr"], "ssim_eval": e["ssim"], "psnr_batch": b["psnr"],
                             "ssim_batch": b["ssim"], "psnr_delta": dp, **_ci_record("psnr", ci), "ssim_delta": dq,
                             "run_eval": e["short"], "run_batch": b["short"]})
    if not rows:
        return None
    notes = [protocol_note(bench, protocol),
             "eval: BatchNorm with its running statistics; batch: each image normalised with its own statistics "
             "(how the ECDN authors' released outputs were produced).",
             f"95% CI: paired bootstrap over the images of the per-image PSNR difference ({n_resamples:,} resamples, "
             f"seed {seed}); `*` = the interval excludes 0. Runs: eval run, batch run."]
    return Table(name=name, title=f"BatchNorm mode: eval versus batch statistics — protocol {protocol}",
                 columns=header, rows=rows, csv=pd.DataFrame(csv_rows), notes=notes, align="lllrrrrrl")


# -------------------------------------------------------------------------------------------------------- training
def training_table(train: pd.DataFrame) -> Table | None:
    """One row per training run: model, steps, final loss, final validation PSNR(s), duration."""
    if train is None or train.empty:
        return None
    keys = sorted({k for m in train["metrics_"] for k in m if k.startswith("val_psnr")})
    header = [("", "Run"), ("", "Label"), ("", "Model"), ("", "Loss (last)")] + \
             [("Validation PSNR (last)", k.split(".", 1)[-1]) for k in keys] + [("", "Duration (h)")]
    rows, csv_rows = [], []
    for t in train.itertuples(index=False):
        label = t.label or t.run_name or t.short
        hours = (t.end_time - t.start_time) / 3.6e6 if t.end_time else None
        rows.append([t.short, label, t.model or DASH, fmt(t.metrics_.get("loss"), 4)]
                    + [fmt(t.metrics_.get(k), 2) for k in keys] + [fmt(hours, 2)])
        csv_rows.append({"run": t.short, "label": label, "model": t.model, "loss": t.metrics_.get("loss"),
                         **{k: t.metrics_.get(k) for k in keys}, "duration_h": hours})
    return Table(name="training_runs", title="Training runs (experiment training)", columns=header, rows=rows,
                 csv=pd.DataFrame(csv_rows), align="lll" + "r" * (len(header) - 3),
                 notes=["Last logged values; the curves are in the training-curves figure."])


# -------------------------------------------------------------------------------------------------------- ablations
def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _value_key(v) -> tuple:
    n = _num(v)
    return (0, n, "") if n is not None else (1, 0.0, str(v))


def _seed_of(t) -> str:
    """A run's training seed (its ``seed`` param; "" when it has none): the pairing key across points."""
    return str(t.params_.get("seed", "")) if isinstance(t.params_, dict) else ""


def ablation_points(sweep: pd.DataFrame) -> tuple[list[str], str | None, pd.DataFrame]:
    """One sweep's points: (swept keys, primary key, points frame), one row per point, sorted.

    Swept values come from the ``srbench.sweep_point`` tag (JSON), else from the params ``group``, ``loss`` and
    ``smoothl1_beta``; the training seed is not a swept value. A point's runs are its newest run per seed (column
    ``runs``: a frame with seed, run_id, short, metrics_, sorted by seed); the other columns come from its newest run.
    The primary key (x axis) is ``group`` when swept, else ``loss``, else the first swept key; the other swept keys
    make series (e.g. one line per model). Each series' baseline is its point tagged ``srbench.baseline=true``, else
    its first point in sorted order. Columns added: values, point, series, runs, is_baseline."""
    values = []
    for t in sweep.itertuples(index=False):
        v = dict(t.sweep_values) if t.sweep_values else {k: t.params_[k] for k in SWEPT_KEYS if k in t.params_}
        values.append(v)
    keys = sorted({k for v in values for k in v})
    varying = [k for k in keys if len({_hashable(v.get(k)) for v in values}) > 1] or keys
    primary = "group" if "group" in varying else "loss" if "loss" in varying else (varying[0] if varying else None)
    # series: grid dimensions (keys every point has); keys only some explicit points set just label those points
    series_keys = [k for k in varying if k != primary and all(k in v for v in values)]
    label_keys = series_keys + [k for k in varying if k != primary and k not in series_keys] + ([primary] if primary else [])
    rows = []
    for t, v in zip(sweep.itertuples(index=False), values):
        shown = {k: v[k] for k in label_keys if k in v}
        rows.append({**t._asdict(), "values": shown, "seed": _seed_of(t),
                     "point": ", ".join(f"{k}={x}" for k, x in shown.items()) or t.short,
                     "series": ", ".join(f"{k}={shown[k]}" for k in series_keys)})
    runs = pd.DataFrame(rows).sort_values(["start_time", "end_time", "run_id"], ascending=False)
    runs = runs.drop_duplicates(["point", "seed"], keep="first")  # newest run per (point, seed)
    pts = runs.drop_duplicates("point", keep="first").copy()
    pts["baseline"] = [bool(runs.loc[runs["point"] == p, "baseline"].any()) for p in pts["point"]]
    pts["runs"] = [runs[runs["point"] == p].sort_values("seed", key=lambda c: c.map(_value_key))
                   [["seed", "run_id", "short", "metrics_"]].reset_index(drop=True) for p in pts["point"]]
    order = sorted(range(len(pts)), key=lambda i: tuple(_value_key(pts["values"].iloc[i].get(k))
                                                         for k in series_keys + ([primary] if primary else [])
                                                         + [k for k in label_keys if k not in series_keys]))
    pts = pts.iloc[order].reset_index(drop=True)
    is_base = [False] * len(pts)
    for series in dict.fromkeys(pts["series"]):
        idx = [i for i in range(len(pts)) if pts["series"].iloc[i] == series]
        tagged = [i for i in idx if pts["baseline"].iloc[i]]
        is_base[(tagged or idx)[0]] = True
    pts["is_baseline"] = is_base
    return varying, primary, pts


def _hashable(v) -> str:
    return repr(v)


def _sweep_datasets(points: pd.DataFrame) -> list[str]:
    sets = set()
    for runs in points["runs"]:
        for m in runs["metrics_"]:
            for k in m:
                parsed = schema.parse_dataset_metric(k)
                if parsed and parsed[0] == "psnr":
                    sets.add(parsed[2])
    return sorted(sets, key=dataset_rank)


def _psnr_key(metrics: dict, dataset: str) -> str | None:
    return schema.find_dataset_metric(metrics, "psnr", dataset)


def seed_values(runs: pd.DataFrame, dataset: str, metric: str = "psnr") -> dict:
    """seed -> the run's mean ``metric`` (psnr or ssim) on ``dataset`` (runs without it left out)."""
    out = {}
    for seed, m in zip(runs["seed"], runs["metrics_"]):
        key = _psnr_key(m, dataset)
        key = key.replace("psnr_", "ssim_", 1) if key and metric == "ssim" else key
        if key and _ok(m.get(key)):
            out[seed] = float(m[key])
    return out


def _seed_averaged_per_image(store: Store, runs: pd.DataFrame, seeds: list, dataset: str) -> pd.DataFrame | None:
    """Per-image PSNR averaged over the runs of ``seeds`` (name, psnr); None when a run has no per-image file."""
    frames = []
    for seed, run_id in zip(runs["seed"], runs["run_id"]):
        if seed in seeds:
            f = store.per_image(run_id, dataset)
            if f is None:
                return None
            frames.append(f[["name", "psnr"]])
    if not frames:
        return None
    return pd.concat(frames).groupby("name", as_index=False)["psnr"].mean()


def _pm(mean, std, digits: int) -> str:
    if not _ok(mean):
        return DASH
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if _ok(std) else "")


def _point_dataset(store: Store, p, base, d: str, boot: dict) -> tuple[list[str], dict]:
    """One point's cells and CSV fields for dataset ``d``: seed mean ± std of PSNR and SSIM, the per-seed paired
    t-interval of the PSNR difference to the baseline, and the image-level bootstrap of the seed-averaged one."""
    from srbench.report.seedstats import mean_std, paired_seed_difference

    psnr, ssim = seed_values(p["runs"], d), seed_values(p["runs"], d, "ssim")
    pm, ps, n = mean_std(psnr.values())
    sm, ss, _ = mean_std(ssim.values())
    cells = [_pm(pm, ps, 2), _pm(sm, ss, 4)]
    rec = {f"psnr_{d}": pm, f"psnr_std_{d}": ps, f"ssim_{d}": sm, f"ssim_std_{d}": ss, f"n_seeds_{d}": n}
    t_ci = boot_ci = None
    if p["is_baseline"]:
        cells += [DASH, DASH]
    else:
        base_psnr = seed_values(base["runs"], d)
        t_ci = paired_seed_difference(psnr, base_psnr)
        common = sorted(set(psnr) & set(base_psnr), key=_value_key)
        boot_ci = paired_ci(_seed_averaged_per_image(store, p["runs"], common, d),
                            _seed_averaged_per_image(store, base["runs"], common, d), **boot)
        cells += [t_ci.text() + f" (n={t_ci.n})" if t_ci else f"n={len(common)}: no interval",
                  boot_ci.text() if boot_ci else "no per-image"]
    rec.update({f"{d}_t_delta": t_ci.mean if t_ci else None, f"{d}_t_low": t_ci.low if t_ci else None,
                f"{d}_t_high": t_ci.high if t_ci else None, f"{d}_t_n": t_ci.n if t_ci else None,
                **_ci_record(d, boot_ci)})
    return cells, rec


def ablation_table(store: Store, experiment: str, sweep_name: str, sweep: pd.DataFrame, *, n_resamples: int = 10_000,
                   seed: int = 0) -> Table | None:
    """One sweep: per point, the mean ± std over its seeds of the per-run PSNR/SSIM per dataset, efficiency, and its
    PSNR difference to its series' baseline point: a per-seed paired t-interval (:mod:`srbench.report.seedstats`)
    and the image-level paired bootstrap of the seed-averaged per-image PSNR (see :func:`ablation_points`)."""
    if sweep.empty:
        return None
    varying, primary, pts = ablation_points(sweep)
    datasets = _sweep_datasets(pts)
    at = measured_at(pts)
    out = f"{at} out" if at else "per point: see the CSV"
    header = [("", "Point"), ("", "Seeds"), ("", "Params"), ("", f"Mult-Adds (G, {out})"), ("", f"Latency (ms, {out})")]
    for d in datasets:
        header += [(d, "PSNR mean ± std"), (d, "SSIM mean ± std"), (d, "Δ PSNR [95% t, seeds]"),
                   (d, "Δ PSNR [95% bootstrap, images]")]
    header.append(("", "Runs"))
    rows, csv_rows = [], []
    for _, p in pts.iterrows():
        m, runs = p["metrics_"], p["runs"]
        base = pts[(pts["series"] == p["series"]) & pts["is_baseline"]].iloc[0]
        latency, _, _ = mean_metric(runs, "latency_ms")
        label = p["point"] + (" (baseline)" if p["is_baseline"] else "")
        row = [label, str(len(runs)), f"{int(m['params']):,}" if _ok(m.get("params")) else DASH,
               fmt(m.get("mult_adds_g"), 2), fmt(latency, 1)]
        rec = {"point": p["point"], "baseline": bool(p["is_baseline"]), **p["values"], "n_runs": len(runs),
               "seeds": " ".join(str(v) for v in runs["seed"]), "params": m.get("params"),
               "measure_out": p.get("measure_out"), "mult_adds_g": m.get("mult_adds_g"), "latency_ms": latency}
        for d in datasets:
            cells, fields = _point_dataset(store, p, base, d, {"n_resamples": n_resamples, "seed": seed})
            row += cells
            rec.update(fields)
        row.append(" ".join(runs["short"]))
        rec["runs"] = " ".join(runs["short"])
        rows.append(row)
        csv_rows.append(rec)
    csv = pd.DataFrame(csv_rows)
    budgets = sorted({b for b in pts["budget"] if b})
    notes = ablation_findings(csv, datasets) + _ablation_method_notes(
        experiment, sweep_name, varying, primary, bool(pts["baseline"].any()), n_resamples, seed, budgets)
    return Table(name=_sweep_stem(sweep_name), title=f"Ablation {sweep_name} ({experiment})", columns=header,
                 rows=rows, csv=csv, notes=notes)


def mean_metric(runs: pd.DataFrame, key: str):
    """(mean, std, n) over a point's seed runs of the metric ``key``, over the runs that logged it (latency and
    memory are measured on the first seed only)."""
    from srbench.report.seedstats import mean_std

    return mean_std(m.get(key) for m in runs["metrics_"] if _ok(m.get(key)))


def _ablation_method_notes(experiment: str, sweep_name: str, varying: list[str], primary: str | None, tagged: bool,
                           n_resamples: int, seed: int, budgets: list[str]) -> list[str]:
    return [f"Experiment `{experiment}`, sweep `{sweep_name}` (swept: {', '.join(varying) or 'nothing'}); the final "
            "evaluation of each trained point (protocol and scale as tagged on its run). Seeds: the training runs "
            "of a point (one per seed: other initialisation and patch order, same data), newest run per seed.",
            "Baseline: " + ("the point tagged `srbench.baseline=true`" if tagged else
                            "no point is tagged `srbench.baseline=true`, so the first point in sorted order")
            + (f" of each series ({', '.join(k for k in varying if k != primary)})." if len(varying) > 1 else "."),
            "PSNR/SSIM mean ± std: over the point's seeds, of each run's mean over the images (std with n - 1).",
            "Δ PSNR [95% t, seeds]: mean over the seeds both points have of the per-seed difference to the baseline, "
            "with the Student t 95% interval of those paired differences (needs 2 seeds or more); `*` = the "
            "interval excludes 0. This is the interval that includes training noise.",
            f"Δ PSNR [95% bootstrap, images]: paired bootstrap over the images of the per-image PSNR averaged over "
            f"those seeds ({n_resamples:,} resamples, seed {seed}); it ignores training noise.",
            "Budget: " + ("; ".join(budgets) if budgets else "not recorded (tag `srbench.budget`).")]


def ablation_findings(csv: pd.DataFrame, datasets: list[str]) -> list[str]:
    """The sentences that state an ablation's results, generated from its table's numbers (never written by hand):
    per dataset, the points significantly above / below their baseline by the seed t-interval and those that are
    not, and the seed-to-seed spread."""
    out = []
    non_base = csv[~csv["baseline"]]
    for d in datasets:
        if f"{d}_t_delta" not in csv:
            continue
        parts = {"above": [], "below": [], "same": [], "none": []}
        for _, r in non_base.iterrows():
            lo, hi, mean = r[f"{d}_t_low"], r[f"{d}_t_high"], r[f"{d}_t_delta"]
            if not _ok(mean):
                parts["none"].append(r["point"])
                continue
            text = f"{r['point']} ({mean:+.2f} dB [{lo:+.2f}, {hi:+.2f}], n={int(r[f'{d}_t_n'])})"
            parts["above" if lo > 0 else "below" if hi < 0 else "same"].append(text)
        said = [f"{label} {', '.join(parts[k])}" for k, label in
                (("above", "significantly above its baseline:"), ("below", "significantly below its baseline:"),
                 ("same", "not distinguishable from its baseline (the interval includes 0):"),
                 ("none", "no seed interval (fewer than 2 seeds paired with the baseline):")) if parts[k]]
        if said:
            out.append(f"Result on {d} (PSNR, per-seed paired 95% t-interval): " + "; ".join(said) + ".")
        spread = [v for v in csv.get(f"psnr_std_{d}", pd.Series(dtype=float)) if _ok(v)]
        if spread:
            out.append(f"Seed-to-seed standard deviation of the per-run mean PSNR on {d}: median {np.median(spread):.2f}"
                       f" dB (from {min(spread):.2f} to {max(spread):.2f} over {len(spread)} point(s)).")
    return out


def _sweep_stem(sweep_name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", sweep_name)
    return safe if safe.startswith("ablation") else f"ablation_{safe}"
