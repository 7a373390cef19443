"""The efficient-SR challenge's table and figure, from an experiment that declared a score (``score:`` and
``reference:``, e.g. ``experiments/ntire.yaml``).

Rows: the cells measured with the challenge-form runtime (``runtime_mean_ms``) on the score's dataset. Columns, as
the challenges print them: PSNR (and SSIM) under the cells' protocol, runtime mean (ms), params (M), FLOPs (G, the
formula's convention, named), activations (M), peak memory over the runtime pass (MiB), Conv2d calls, score, rank.
A score is computed (:func:`srbench.eval.challenge_score.score`) only for a row measured on the reference's device,
runtime, precision and thread count, at its scale, in the same invocation of the benchmark (a cell reused from an
earlier invocation ran under another machine load), and passing the PSNR gate; every other row says why it has
none. The formula, reference, gate and device are written beside every table that shows a score.
"""

from __future__ import annotations

import math

import pandas as pd

from srbench.eval.challenge_score import FORMULAS, Figures, Gate, comparable, rank, score, score_label
from srbench.report.render import Table
from srbench.track import schema

DASH = "-"
PRECISION = "fp32"  # every srbench runtime runs in fp32 (OpenVINO with INFERENCE_PRECISION_HINT=f32)


def score_spec(store, experiment_id: str) -> dict | None:
    """The score declared by the newest finished invocation (parent run) of the experiment, or None."""
    parents = store.finished_runs(experiment_id, kind="benchmark")
    for run in reversed(parents):  # oldest first: the newest declaration wins
        tags = run.data.tags
        if tags.get(schema.SCORE_FORMULA_TAG):
            threshold = tags.get(schema.SCORE_THRESHOLD_TAG) or None
            return {"formula": FORMULAS[tags[schema.SCORE_FORMULA_TAG]], "reference": tags[schema.SCORE_REFERENCE_TAG],
                    "dataset": tags[schema.SCORE_DATASET_TAG],
                    "gate": Gate(margin_db=float(tags.get(schema.SCORE_MARGIN_TAG) or 0),
                                 threshold_db=float(threshold) if threshold else None)}
    return None


def _setting(cell) -> dict:
    return {"device": cell["device_name"], "runtime": cell["runtime"], "precision": PRECISION,
            "threads": cell["threads"]}


def _fmt(value, digits: int) -> str:
    return DASH if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _fmt_score(value: float) -> str:
    """Four decimals; a score far above the reference's (the exponential of a large runtime ratio) in powers of ten."""
    return f"{value:.4f}" if value < 1e4 else f"{value:.3e}"


def challenge_rows(results: pd.DataFrame, cells: pd.DataFrame, spec: dict) -> tuple[list[dict], list[str]]:
    """One record per row (label, psnr, ssim, figures, setting, score terms, rank) and the notes explaining blanks."""
    formula, gate = spec["formula"], spec["gate"]
    flops_key = schema.FLOPS[formula.flops_convention]
    on_set = results[results["dataset"] == spec["dataset"]]
    rows = []
    for _, cell in cells.iterrows():
        if cell.get(schema.RUNTIME_MEAN) is None or pd.isna(cell.get(schema.RUNTIME_MEAN)):
            continue
        match = on_set[on_set["run_id"] == cell["run_id"]]
        if match.empty:
            continue
        rows.append({"label": cell["label"], "scale": int(cell["scale"]), "psnr": float(match["psnr"].iloc[0]),
                     "invocation": cell.get("parent", ""),
                     "ssim": float(match["ssim"].iloc[0]), "setting": _setting(cell),
                     **{k: cell.get(k) for k in (schema.RUNTIME_MEAN, schema.RUNTIME_MEDIAN, schema.RUNTIME_PEAK_MEM,
                                                 schema.PARAMS, flops_key, schema.ACTIVATIONS, schema.CONV2D)},
                     "flops_g": cell.get(flops_key)})
    notes: list[str] = []
    ref = next((r for r in rows if r["label"] == spec["reference"]), None)
    if ref is None:
        notes.append(f"No score: the reference {spec['reference']!r} has no cell with the challenge runtime on "
                     f"{spec['dataset']}.")
        return rows, notes
    threshold = gate.threshold(ref["psnr"])
    ref_figures = Figures(ref[schema.RUNTIME_MEAN], ref["flops_g"], ref[schema.PARAMS] / 1e6)
    for r in rows:
        differs = comparable(r["setting"], ref["setting"])
        if r["scale"] != ref["scale"]:
            differs.append("scale")
        if r["invocation"] != ref["invocation"]:  # reused from another run of the benchmark: another machine load
            differs.append("invocation (rerun with --force to measure every entry together)")
        if differs:
            notes.append(f"{r['label']}: no score (measured with another {', '.join(differs)} than the reference).")
        elif r["psnr"] < threshold:
            notes.append(f"{r['label']}: no score (PSNR {r['psnr']:.2f} dB is under the gate, {threshold:.2f} dB).")
        else:
            r["terms"] = score(Figures(r[schema.RUNTIME_MEAN], r["flops_g"], r[schema.PARAMS] / 1e6), ref_figures,
                               formula)
    ranks = rank({r["label"]: r["terms"]["score"] if "terms" in r else None for r in rows})
    for r in rows:
        r["rank"] = ranks[r["label"]]
    return rows, notes


def describe(spec: dict, rows: list[dict]) -> list[str]:
    """The sentences logged with every score: formula (with weights and source), reference, gate, device."""
    formula, ref = spec["formula"], next((r for r in rows if r["label"] == spec["reference"]), None)
    w_rt, w_fl, w_pa = formula.weights
    k = formula.factor
    lines = [f"Score {formula.name}: {w_rt}·exp({k:g}·runtime/runtime_ref) + {w_fl}·exp({k:g}·FLOPs/FLOPs_ref) + "
             f"{w_pa}·exp({k:g}·params/params_ref), FLOPs under the {formula.flops_convention} convention "
             f"(source: {formula.source}); lower is better, the reference scores e² = 7.389.",
             f"Reference: {spec['reference']}, measured in the same experiment; gate: "
             f"{spec['gate'].describe(spec['reference'], ref['psnr'] if ref else None)} on {spec['dataset']}."]
    if ref is not None:
        s = ref["setting"]
        lines.append(f"Device: {s['device']}, runtime {s['runtime']} {s['precision']}, {s['threads']} threads. "
                     f"Not comparable with the challenge's scores ({formula.published_reference['device']}).")
    return lines


def challenge_table(rows: list[dict], spec: dict, stem: str) -> Table:
    """The challenge-style table (Markdown/LaTeX/CSV through :mod:`srbench.report.render`)."""
    formula = spec["formula"]
    setting = next((r["setting"] for r in rows if r["label"] == spec["reference"]), rows[0]["setting"])
    headers = ["model", f"PSNR RGB {spec['dataset']} (dB)", "SSIM", "runtime mean (ms)", "runtime median (ms)",
               "params (M)", f"FLOPs (G, {formula.flops_convention}, 3x256x256)", "activations (M)",
               "memory (MiB)", "#Conv", score_label(formula, setting), "rank"]
    body = [[r["label"], _fmt(r["psnr"], 2), _fmt(r["ssim"], 4), _fmt(r[schema.RUNTIME_MEAN], 1),
             _fmt(r[schema.RUNTIME_MEDIAN], 1), _fmt(r[schema.PARAMS] / 1e6, 4), _fmt(r["flops_g"], 2),
             _fmt(r[schema.ACTIVATIONS], 2), _fmt(r[schema.RUNTIME_PEAK_MEM], 1),
             DASH if r[schema.CONV2D] is None else str(int(r[schema.CONV2D])),
             _fmt_score(r["terms"]["score"]) if "terms" in r else DASH,
             DASH if r["rank"] is None else str(r["rank"])] for r in rows]
    csv = pd.DataFrame([{"model": r["label"], "psnr_rgb": r["psnr"], "ssim_rgb": r["ssim"],
                         schema.RUNTIME_MEAN: r[schema.RUNTIME_MEAN], schema.RUNTIME_MEDIAN: r[schema.RUNTIME_MEDIAN],
                         schema.PARAMS: r[schema.PARAMS], schema.FLOPS[formula.flops_convention]: r["flops_g"],
                         schema.ACTIVATIONS: r[schema.ACTIVATIONS], schema.RUNTIME_PEAK_MEM: r[schema.RUNTIME_PEAK_MEM],
                         schema.CONV2D: r[schema.CONV2D], f"score_{formula.name}": r.get("terms", {}).get("score"),
                         "rank": r["rank"]} for r in rows])
    return Table(name=stem, title=f"Efficient-SR challenge table ({formula.name} score, reference "
                 f"{spec['reference']})", columns=[("", h) for h in headers], rows=body, csv=csv,
                 notes=describe(spec, rows))


def score_figure(rows: list[dict], spec: dict, out_dir, stem: str) -> list:
    """Score against PSNR on the score's dataset: one point per scored row (the reference marked), the PSNR gate as a
    dashed vertical line; lower and further right is better."""
    from srbench.report.figures.style import styled

    return styled(_score_figure)(rows, spec, out_dir, stem)


def _score_figure(rows: list[dict], spec: dict, out_dir, stem: str) -> list:
    from srbench.report.figures.style import pyplot, save

    plt = pyplot()
    scored = [r for r in rows if "terms" in r]
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    ref = next((r for r in rows if r["label"] == spec["reference"]), None)
    for r in scored:
        is_ref = r["label"] == spec["reference"]
        ax.scatter([r["psnr"]], [r["terms"]["score"]], s=36 if is_ref else 24, marker="*" if is_ref else "o",
                   color="#b03030" if is_ref else "#1f5f8b", zorder=3)
        ax.annotate(r["label"], (r["psnr"], r["terms"]["score"]), xytext=(4, 3), textcoords="offset points",
                    fontsize=6.5)
    if ref is not None:
        threshold = spec["gate"].threshold(ref["psnr"])
        ax.axvline(threshold, color="#888888", linestyle="--", linewidth=0.8)
        ax.annotate(f"PSNR gate {threshold:.2f} dB", (threshold, 0), xycoords=("data", "axes fraction"),
                    xytext=(3, 4), textcoords="offset points", fontsize=6.5, color="#555555", rotation=90,
                    va="bottom")
    values = [r["terms"]["score"] for r in scored]
    if values and max(values) > 100 * min(values):  # exp(2·ratio) spans decades when runtimes differ a lot
        ax.set_yscale("log")
    ax.margins(x=0.2, y=0.15)
    setting = ref["setting"] if ref is not None else (rows[0]["setting"] if rows else {})
    left_out = [r["label"] for r in rows if "terms" not in r]
    ax.set_xlabel(f"PSNR RGB on {spec['dataset']} (dB)")
    ax.set_ylabel(f"score {spec['formula'].name} (lower is better"
                  + (", log scale)" if ax.get_yscale() == "log" else ")"))
    where = score_label(spec["formula"], setting).split(" (", 1)[1].split(") - ")[0]
    ax.set_title(f"Challenge score vs PSNR, reference {spec['reference']}\n{where}"
                 + (f"\nno score: {', '.join(left_out)} (see the table)" if left_out else ""), fontsize=7.5)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    return save(fig, out_dir, stem)
