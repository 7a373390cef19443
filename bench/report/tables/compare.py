"""Paired comparisons over the images: each row against a reference row, and BatchNorm batch against eval
statistics, with paired bootstrap confidence intervals of the per-image PSNR differences.

The per-image values come from ``bench.per_image`` (the runs' ``per_image/<Set>.csv``, read by
:func:`srbench.report.collect.read_benchmark`); nothing here reads the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from srbench.report.bootstrap import BootstrapCI, paired_bootstrap, paired_frames
from srbench.report.collect import Benchmark, row_label, row_sort_key
from srbench.report.render import Table
from srbench.report.tables.format import DASH, ci_record, fmt, ok
from srbench.report.tables.frames import (columns, identities, newest_label, protocol_note, run_ids, select,
                                          select_identity)


def find_identity(bench: Benchmark, protocol: str, reference: str) -> tuple | None:
    """The row identity named by ``reference`` (a label, a weights name or a model name; eval BN preferred)."""
    res = bench.results[bench.results["protocol"] == protocol]
    idents = identities(res)
    for test in (lambda i, lab: lab == reference, lambda i, lab: i[1] == reference, lambda i, lab: i[0] == reference):
        hits = [i for i in idents if test(i, row_label(i[0], i[1], i[3], "", i[2]))]
        hits += [i for i in idents if i not in hits and test(i, newest_label(select_identity(res, i)))]
        if hits:
            return sorted(hits, key=lambda i: (i[3] != "eval", row_sort_key(*i)))[0]
    return None


def paired_ci(pa: pd.DataFrame | None, pb: pd.DataFrame | None, *, n_resamples: int, seed: int) -> BootstrapCI | None:
    """Paired bootstrap CI of mean per-image PSNR a - b over the images both frames hold; None when there are fewer
    than two such images or a PSNR is infinite (identical images)."""
    if pa is None or pb is None:
        return None
    x, y, _ = paired_frames(pa, pb)
    if len(x) < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    return paired_bootstrap(x, y, n_resamples=n_resamples, seed=seed)


def reference_table(bench: Benchmark, protocol: str, reference: str = "bicubic", *,
                    n_resamples: int = 10_000, seed: int = 0) -> tuple[Table | None, str | None]:
    """Each measured row against a reference row: mean per-image PSNR difference with a paired bootstrap 95% CI."""
    res = bench.results[(bench.results["protocol"] == protocol)]
    if res.empty:
        return None, None
    ref_id = find_identity(bench, protocol, reference)
    if ref_id is None:
        return None, f"reference model {reference!r} has no cells under protocol {protocol}; no paired comparison."
    ref_res = select_identity(res, ref_id)
    ref_label = newest_label(ref_res)
    cols = columns(res)
    header = [("", "Model")] + [(d, f"x{s}") for d, s in cols] + [("", "Run")]
    rows, csv_rows = [], []
    for ident in identities(res):
        if ident == ref_id:
            continue
        r = select_identity(res, ident)
        row, rec = [newest_label(r)], {"model": newest_label(r), "reference": ref_label}
        for d, s in cols:
            a = select(r, dataset=d, scale=s)
            b = select(ref_res, dataset=d, scale=s)
            ci = None
            if not a.empty and not b.empty:
                ci = paired_ci(bench.per_image_of(a["run_id"].iloc[0], d), bench.per_image_of(b["run_id"].iloc[0], d),
                               n_resamples=n_resamples, seed=seed)
            row.append(ci.text() if ci else (DASH if a.empty or b.empty else "no per-image"))
            rec.update(ci_record(f"{d}_x{s}", ci))
        row.append(run_ids(r) + " vs " + run_ids(ref_res))
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


def _bn_pair(bench: Benchmark, label: str, model: str, weights: str, e, b, d: str, s: int, boot: dict):
    """One (dataset, scale) row of the BN table from its eval and batch results rows, and its CSV record."""
    ci = paired_ci(bench.per_image_of(b["run_id"], d), bench.per_image_of(e["run_id"], d), **boot)
    dp, dq = b["psnr"] - e["psnr"], b["ssim"] - e["ssim"]
    row = [label, d, f"x{s}", f"{e['psnr']:.2f}/{fmt(e['ssim'], 4)}", f"{b['psnr']:.2f}/{fmt(b['ssim'], 4)}",
           f"{dp:+.2f}", ci.text() if ci else "no per-image", f"{dq:+.4f}" if ok(dq) else DASH,
           f"{e['short']} {b['short']}"]
    rec = {"model": label, "arch": model, "weights": weights, "dataset": d, "scale": s,
           "psnr_eval": e["psnr"], "ssim_eval": e["ssim"], "psnr_batch": b["psnr"],
           "ssim_batch": b["ssim"], "psnr_delta": dp, **ci_record("psnr", ci), "ssim_delta": dq,
           "run_eval": e["short"], "run_batch": b["short"]}
    return row, rec


def bn_table(bench: Benchmark, protocol: str, name: str = "bn_mode", *, n_resamples: int = 10_000,
             seed: int = 0) -> Table | None:
    """Models measured with both ``eval`` and ``batch`` BatchNorm statistics, side by side per dataset and scale."""
    res = bench.results[bench.results["protocol"] == protocol]
    if res.empty:
        return None
    header = [("", "Model"), ("", "Set"), ("", "Scale"), ("BN eval", "PSNR/SSIM"), ("BN batch", "PSNR/SSIM"),
              ("batch − eval", "Δ PSNR"), ("batch − eval", "95% CI"), ("batch − eval", "Δ SSIM"), ("", "Runs")]
    rows, csv_rows = [], []
    for model, weights, group in identities(res, ("model", "weights", "group")):
        r = select(res, model=model, weights=weights, group=group)
        if not {"eval", "batch"} <= set(r["bn_mode"]):
            continue
        for d, s in columns(r):
            e = select(r, bn_mode="eval", dataset=d, scale=s)
            b = select(r, bn_mode="batch", dataset=d, scale=s)
            if e.empty or b.empty:
                continue
            label = newest_label(select(r, bn_mode="eval"))
            row, rec = _bn_pair(bench, label, model, weights, e.iloc[0], b.iloc[0], d, s,
                                {"n_resamples": n_resamples, "seed": seed})
            rows.append(row)
            csv_rows.append(rec)
    if not rows:
        return None
    notes = [protocol_note(bench, protocol),
             "eval: BatchNorm with its running statistics; batch: each image normalised with its own statistics "
             "(how the ECDN authors' released outputs were produced).",
             f"95% CI: paired bootstrap over the images of the per-image PSNR difference ({n_resamples:,} resamples, "
             f"seed {seed}); `*` = the interval excludes 0. Runs: eval run, batch run."]
    return Table(name=name, title=f"BatchNorm mode: eval versus batch statistics — protocol {protocol}",
                 columns=header, rows=rows, csv=pd.DataFrame(csv_rows), notes=notes, align="lllrrrrrl")
