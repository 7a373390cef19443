"""The training runs' table: one row per run with its last loss and validation PSNR, and its duration."""

from __future__ import annotations

import pandas as pd

from srbench.report.render import Table
from srbench.report.tables.format import DASH, fmt


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
