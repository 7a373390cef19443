"""The ECDN report's Table 1 in its own form: per model, the SUMS over the 119 images of Set5 + Set14 + B100 at x4 of
the per-image PSNR, SSIM and LPIPS, beside the printed scores, the parameter count and the training time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from srbench.report import reference as ref
from srbench.report.collect import Benchmark
from srbench.report.render import Table
from srbench.report.tables.format import DASH, fmt, fmt_count, ok
from srbench.report.tables.frames import identities, newest_label, protocol_note, run_ids, select, select_identity
from srbench.track import schema
from srbench.track.metric_plan import TABLE1_DATASETS, TABLE1_SCALE

ECDN_SETS, ECDN_SCALE = TABLE1_DATASETS, TABLE1_SCALE
LPIPS_NOT_MEASURED = ("n/a: not measured", "not measured: the runs logged no per-image `lpips` on all of these images "
                      "(it is on by default for Set5, Set14 and B100 at x4 and for `ecdn_report` cells, or declared "
                      "with `metrics: [psnr, ssim, lpips]`; cells logged before LPIPS was a metric lack it: rerun "
                      "`srbench benchmark`)")
LPIPS_RANGE_TEXT = {"minus_one_one": "input x/127.5 − 1 in [−1, 1] (LPIPS's documented input)",
                    "zero_one": "input x/255 in [0, 1] (torchvision `ToTensor()`, as the report's compare.py passed "
                                "it to `lpips.LPIPS(net='alex')`)"}
_HEADER = [("", "Model"), ("LPIPS", "score"), ("LPIPS", "mean"), ("", "PSNR score"), ("", "SSIM sum"),
           ("", "Images"), ("printed in the report", "PSNR score"), ("printed in the report", "LPIPS score"),
           ("measured − printed", "PSNR score"), ("measured − printed", "LPIPS score"),
           ("# parameter (effective, all heads)", "measured"), ("# parameter (effective, all heads)", "published"),
           ("", "Training time"), ("", "Run")]


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


def _sums(bench: Benchmark, r: pd.DataFrame) -> tuple[pd.DataFrame | None, list[str]]:
    """The per-image rows of one model over the Table 1 sets (None and the sets lacking them when incomplete)."""
    frames, missing = [], []
    for d in ECDN_SETS:
        m = select(r, dataset=d)
        per = bench.per_image_of(m["run_id"].iloc[0], d) if not m.empty else None
        if per is None:
            missing.append(d)
        else:
            frames.append(per.assign(dataset=d))
    return (None if missing else pd.concat(frames, ignore_index=True)), missing


def _row(bench: Benchmark, ident: tuple, r: pd.DataFrame, per: pd.DataFrame, protocol: str, double: bool):
    """One model's row and CSV record from its per-image rows."""
    n = len(per)
    psnr_sum, ssim_sum = float(per["psnr"].sum()), float(per["ssim"].sum())
    lpips_sum = lpips_mean = None
    if "lpips" in per and per["lpips"].notna().all():
        lpips_sum = float(per["lpips"].sum())
        lpips_mean = lpips_sum / n
    c = select_identity(bench.cells, ident, protocol=protocol, scale=ECDN_SCALE)
    params = c[schema.PARAMS_EFFECTIVE].iloc[0] if not c.empty else None  # the report counts those used
    published_params = ref.ECDN_TABLE1_PARAMS.get(ident[0])
    ttime = bench.training_times.get(ident[1], DASH) if ident[0] != "bicubic" else DASH
    printed = ref.ECDN_TABLE1_PRINTED.get(ident[1])
    if printed and ttime == "released checkpoint":
        ttime = f"released checkpoint: {printed[2]} (per the report)"
    # measured − printed only where the protocol is the report's own: otherwise the offset is the protocol's
    d_psnr = psnr_sum - printed[1] if printed and double else None
    d_lpips = lpips_sum - printed[0] if printed and double and lpips_sum is not None else None
    label, runs = newest_label(r), run_ids(r)
    row = [label, f"{lpips_sum:.1f}" if lpips_sum is not None else LPIPS_NOT_MEASURED[0], fmt(lpips_mean, 4),
           f"{psnr_sum:.1f}", f"{ssim_sum:.2f}", str(n), f"{printed[1]:.0f}" if printed else DASH,
           f"{printed[0]:.1f}" if printed else DASH, f"{d_psnr:+.1f}" if d_psnr is not None else DASH,
           f"{d_lpips:+.2f}" if d_lpips is not None else DASH, fmt_count(params),
           f"{published_params:,}" if published_params else DASH, ttime, runs]
    rec = {"model": label, "arch": ident[0], "weights": ident[1], "bn_mode": ident[3], "protocol": protocol,
           "lpips_sum": lpips_sum, "lpips_mean": lpips_mean, "psnr_sum": psnr_sum, "ssim_sum": ssim_sum,
           "n_images": n, "printed_psnr_score": printed[1] if printed else None,
           "printed_lpips_score": printed[0] if printed else None, "psnr_score_delta": d_psnr,
           "lpips_score_delta": d_lpips, "params_effective": int(params) if ok(params) else None,
           "params_published": published_params, "training_time": ttime, "runs": runs}
    return row, rec


def ecdn_table1(bench: Benchmark, protocol: str) -> tuple[Table | None, str | None]:
    """Per model row: SUM over the 119 images of Set5 + Set14 + B100 at x4 of PSNR, SSIM and LPIPS (from the per-image
    artifacts; LPIPS also as a mean), beside the printed scores, parameter count and training time — the ECDN report's
    Table 1 in its own form."""
    res = bench.results[(bench.results["protocol"] == protocol) & (bench.results["scale"] == ECDN_SCALE)]
    if res.empty:
        return None, None
    double = bool(res["double_scale"].any())
    rows, csv_rows, skipped = [], [], []
    for ident in identities(res):
        r = select_identity(res, ident)
        per, missing = _sums(bench, r)
        if per is None:
            skipped.append(f"{newest_label(r)}: no per-image results for {', '.join(missing)} at x{ECDN_SCALE}")
            continue
        row, rec = _row(bench, ident, r, per, protocol, double)
        rows.append(row)
        csv_rows.append(rec)
    if not rows:
        return None, ("ECDN Table 1 (protocol " + protocol + "): " + "; ".join(skipped)) if skipped else None
    lpips_missing = any(rec["lpips_sum"] is None for rec in csv_rows)
    table = Table(name=f"ecdn_table1_{protocol}", title=f"ECDN report Table 1 in its own form — protocol {protocol}",
                  columns=_HEADER, rows=rows, csv=pd.DataFrame(csv_rows),
                  notes=_table1_notes(bench, res, protocol, double, lpips_missing) + skipped, align="lrrrrrrrrrrrll")
    agreement = ecdn_table1_agreement(table)
    if agreement:
        table.notes.insert(3, agreement)
    return table, None

