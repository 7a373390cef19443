"""Published versus measured: each published value beside the measured one of the same model (released weights,
eval BN), the difference, a flag beyond 0.05 dB, a bootstrap interval over the images, and the computed summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from srbench.report import reference as ref
from srbench.report.bootstrap import bootstrap_mean
from srbench.report.collect import Benchmark, dataset_rank
from srbench.report.render import Table
from srbench.report.tables.format import DASH, ci_record, fmt, ok
from srbench.report.tables.frames import select

_HEADER = [("", "Model"), ("", "Protocol"), ("", "Set"), ("", "Scale"), ("PSNR", "published"), ("PSNR", "measured"),
           ("PSNR", "Δ"), ("PSNR", "Δ 95% CI"), ("PSNR", "flag"), ("SSIM", "published"), ("SSIM", "measured"),
           ("SSIM", "Δ")]
_NEAREST_NOTE = ("Nearest knob: for a row whose |Δ| exceeds the rounding of the printed value, the protocol deviation "
                 "(single knob or pair) of the logged `srbench explain` run of that cell that brings the measurement "
                 "nearest to the printed value, and the residual published − measured left after it (see "
                 "docs/protocol.md); — where no explain run covers the cell.")


def _nearest_cell(nearest, pub: ref.Published, dataset: str, scale: int, d_psnr: float, d_ssim: float | None) -> str:
    """The "Nearest knob" cell of a published row: the explain run's nearest deviation where |Δ| exceeds the
    rounding of the printed values (half a unit of their last digit), "within rounding" otherwise, a dash when no
    explain run covers the cell."""
    if abs(d_psnr) <= 0.005 and (d_ssim is None or abs(d_ssim) <= 0.00005):
        return "within rounding"
    psnr, ssim = pub.scores[(dataset, scale)]
    return nearest(model=pub.model, weights=pub.weights, dataset=dataset, scale=scale, psnr=psnr, ssim=ssim) or DASH


def _row(bench: Benchmark, pub: ref.Published, proto: str, m, d: str, s: int, boot: dict, nearest):
    """One published-versus-measured row (``m``: the measured results row) and its CSV record."""
    pp, ps = pub.scores[(d, s)]
    dp, ds_ = m["psnr"] - pp, (m["ssim"] - ps if ok(m["ssim"]) else None)
    ci = None
    per = bench.per_image_of(m["run_id"], d)
    if per is not None and len(per) >= 2 and np.isfinite(per["psnr"]).all():
        ci = bootstrap_mean(per["psnr"].to_numpy() - pp, **boot)
    flag = "|Δ| > 0.05 dB" if abs(dp) > ref.FLAG_DB else ""
    knob = [_nearest_cell(nearest, pub, d, s, dp, ds_)] if nearest else []
    row = [pub.name, proto, d, f"x{s}", f"{pp:.2f}", f"{m['psnr']:.3f}", f"{dp:+.3f}",
           ci.text(3) if ci else "no per-image", flag, f"{ps:.4f}", fmt(m["ssim"], 4),
           f"{ds_:+.4f}" if ds_ is not None else DASH, *knob, m["short"]]
    rec = {"model": pub.name, "source": pub.source, "protocol": proto, "dataset": d,
           "scale": s, "psnr_published": pp, "psnr_measured": m["psnr"], "psnr_delta": dp,
           **ci_record("psnr", ci), "flagged": bool(flag), "ssim_published": ps,
           "ssim_measured": m["ssim"], "ssim_delta": ds_,
           **({"nearest_knob": knob[0]} if knob else {}), "run": m["short"]}
    return row, rec


def _measured_rows(bench: Benchmark, pub: ref.Published, proto: str) -> pd.DataFrame:
    """The measured results rows a published model is compared with under one protocol."""
    res = bench.results[(bench.results["protocol"] == proto) & (bench.results["metric_color"] == "y")
                        & (bench.results["model"] == pub.model) & (bench.results["bn_mode"] == "eval")]
    return res[res["weights"].isin([pub.weights or "", pub.model] if pub.weights is None else [pub.weights])]


def _notes(published, csv_rows: list[dict], notes: list[str], nearest) -> list[str]:
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
        table_notes.insert(1, _NEAREST_NOTE)
    return table_notes


def paper_vs_measured(bench: Benchmark, protocols_: list[str], *, n_resamples: int = 10_000,
                      seed: int = 0, published: tuple[ref.Published, ...] = ref.PUBLISHED,
                      nearest=None) -> tuple[Table | None, list[str]]:
    """Each published value beside the measured one (same model, released weights, eval BN), the difference, a flag
    when |difference| > 0.05 dB, and a bootstrap CI of the difference over the images when per-image values exist.

    ``nearest(model=, weights=, dataset=, scale=, psnr=, ssim=)``: where given (logged ``srbench explain`` runs,
    :func:`srbench.report.sensitivity.nearest_knob`), a "Nearest knob" column names, for each row whose |Δ| exceeds
    the rounding of the printed value, the protocol deviation nearest to it (a dash where none was measured)."""
    header = _HEADER + ([("", "Nearest knob")] if nearest else []) + [("", "Run")]
    rows, csv_rows, notes = [], [], []
    boot = {"n_resamples": n_resamples, "seed": seed}
    for pub in published:
        found = False
        for proto in protocols_:
            res = _measured_rows(bench, pub, proto)
            for (d, s) in sorted(pub.scores, key=lambda k: (dataset_rank(k[0]), k[1])):
                m = select(res, dataset=d, scale=s)
                if m.empty:
                    continue
                found = True
                row, rec = _row(bench, pub, proto, m.iloc[0], d, s, boot, nearest)
                rows.append(row)
                csv_rows.append(rec)
        if not found:
            notes.append(f"{pub.name}: no measured cells (model {pub.model}"
                         + (f", weights {pub.weights}" if pub.weights else "")
                         + ", eval BN) in this store; it appears only with its published numbers.")
    if not rows:
        return None, notes
    return Table(name="paper_vs_measured", title="Published versus measured (Y channel)", columns=header, rows=rows,
                 csv=pd.DataFrame(csv_rows), notes=_notes(published, csv_rows, notes, nearest),
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
