"""Protocol sensitivity, from the logged ``srbench explain`` runs (experiment ``explain``, ``make explain``).

Two things, both computed from the runs' ``explain/table.json`` artifacts (never typed):

* :func:`sensitivity_table`: per (dataset, scale), every single-knob deviation's Δ PSNR and Δ SSIM from the
  standard protocol, one column pair per model, and the largest |Δ PSNR| over the models;
* :func:`nearest_knob`: for a published-versus-measured row whose |Δ| exceeds the printed rounding, the deviation
  (single knob or pair) of the same (model, weights, dataset, scale) that brings the measurement nearest to the
  printed value (:func:`srbench.eval.explain.match_published`), with the residual; the paper-versus-measured table
  shows it in its "nearest knob" column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from srbench.eval.explain import Printed, Row, match_published
from srbench.report.collect import Store, dataset_rank, model_rank, short
from srbench.report.render import Table
from srbench.track.explain_log import KIND, TABLE_JSON, rows_from_table

EXPERIMENT = "explain"
#: half a unit of the printed last digit: a |Δ| within this is rounding alone (PSNR printed to 2, SSIM to 4 decimals)
ROUNDING_PSNR, ROUNDING_SSIM = 0.005, 0.00005


@dataclass
class ExplainRun:
    """One logged explain run: its cell and rows (standard first)."""

    run_id: str
    model: str
    weights: str
    label: str
    dataset: str
    scale: int
    pairs: bool
    rows: list[Row]


def read_explain_runs(store: Store, experiment: str = EXPERIMENT) -> list[ExplainRun]:
    """The newest FINISHED explain run per (model, weights, dataset, scale), one with pairs preferred."""
    exp_id = store.experiment_id(experiment)
    if exp_id is None:
        return []
    best: dict[tuple, ExplainRun] = {}
    for run in store.finished_runs(exp_id, kind=KIND):  # oldest first: a newer run replaces an older one
        tags = run.data.tags
        path = store.artifact(run.info.run_id, TABLE_JSON)
        if path is None:
            continue
        table = json.loads(path.read_text())
        item = ExplainRun(run.info.run_id, tags.get("srbench.model", ""), tags.get("srbench.weights", ""),
                          tags.get("srbench.label") or tags.get("srbench.model", ""), tags.get("srbench.dataset", ""),
                          int(tags.get("srbench.scale", "0")), tags.get("srbench.explain_pairs") == "1",
                          rows_from_table(table))
        key = (item.model, item.weights, item.dataset, item.scale)
        if key not in best or item.pairs or not best[key].pairs:
            best[key] = item
    return sorted(best.values(), key=lambda r: (dataset_rank(r.dataset), r.scale, model_rank(r.model), r.weights))


def sensitivity_table(runs: list[ExplainRun], dataset: str, scale: int) -> Table | None:
    """Δ PSNR / Δ SSIM of every single-knob deviation per model on (dataset, scale); None without runs there."""
    runs = [r for r in runs if r.dataset == dataset and r.scale == scale]
    if not runs:
        return None
    order: list[str] = []
    values: dict[tuple[str, str], Row] = {}
    for r in runs:
        for row in r.rows[1:]:
            if row.deviation.is_pair:
                continue
            label = row.deviation.label
            if label not in order:
                order.append(label)
            values[(r.run_id, label)] = row
    columns = [("", "Knob")] + [(r.label, h) for r in runs for h in ("Δ PSNR", "Δ SSIM")] + [("", "max |Δ PSNR|")]
    rows, csv = [], []
    std = ["standard"] + [c for r in runs for c in (f"{r.rows[0].psnr:.3f}", f"{r.rows[0].ssim:.4f}")] + [""]
    rows.append(std)
    for label in order:
        cells, biggest = [label], 0.0
        for r in runs:
            row = values.get((r.run_id, label))
            cells += [f"{row.d_psnr:+.3f}", f"{row.d_ssim:+.4f}"] if row else ["—", "—"]
            if row:
                biggest = max(biggest, abs(row.d_psnr))
                csv.append({"model": r.label, "weights": r.weights, "knob": row.deviation.knob,
                            "value": row.deviation.value, "psnr": row.psnr, "ssim": row.ssim,
                            "d_psnr": row.d_psnr, "d_ssim": row.d_ssim, "run": short(r.run_id)})
        rows.append(cells + [f"{biggest:.3f}"])
    notes = ["Each knob changed alone from the standard protocol (first row: the standard PSNR/SSIM); Δ = deviation "
             "− standard. `lr_input: X/full`: LR made by X from the HR without mod-cropping it first. Runs: "
             + ", ".join(f"{r.label} {short(r.run_id)}" for r in runs) + " (MLflow experiment `explain`, "
             "`make explain`; how to read it: docs/protocol.md)."]
    return Table(name=f"protocol_sensitivity_{dataset}_x{scale}", title=f"Protocol sensitivity, {dataset} x{scale}",
                 columns=columns, rows=rows, csv=pd.DataFrame(csv), notes=notes)


def beyond_rounding(d_psnr: float, d_ssim: float | None) -> bool:
    """True when measured − published exceeds what rounding the published value can explain."""
    return abs(d_psnr) > ROUNDING_PSNR or (d_ssim is not None and abs(d_ssim) > ROUNDING_SSIM)


def nearest_knob(runs: list[ExplainRun], *, model: str, weights: str | None, dataset: str, scale: int,
                 psnr: float, ssim: float | None) -> str | None:
    """The deviation nearest to the published (psnr, ssim) for this cell, as ``label (residual)``, or None when no
    explain run covers the cell. A deviation whose values round to the printed ones is named as reproducing it."""
    wanted = {weights} if weights else {"", "none", model}
    run = next((r for r in runs if r.model == model and r.weights in wanted and r.dataset == dataset
                and r.scale == scale), None)
    if run is None:
        return None
    match = match_published(run.rows, Printed(psnr, 2, ssim, 4))
    if match.exact:
        return "reproduced by " + "; ".join(r.deviation.label for r in match.exact[:3]) + f" ({short(run.run_id)})"
    candidates = [r for r in (match.nearest, match.nearest_pair) if r is not None]
    best = min(candidates, key=lambda r: match.printed.distance(r.psnr, r.ssim))
    if match.printed.distance(run.rows[0].psnr, run.rows[0].ssim) <= match.printed.distance(best.psnr, best.ssim):
        return f"none nearer than the standard protocol ({short(run.run_id)})"
    dp, ds = match.residual(best)
    res = f"{dp:+.3f} dB" + ("" if ds is None else f", {ds:+.4f}")
    return f"{best.deviation.label} (left: {res}; {short(run.run_id)})"
