"""The summary table printed after a benchmark and written to ``reports/local/<stem>.md``, read back from MLflow.

One row per cell run (model, weights, BN mode, scale, runtime), one column per dataset with PSNR/SSIM, then params,
Mult-Adds, latency and peak memory (each header names its unit and the output size it was measured at). Every value
is fetched from the MLflow run named in the row; the table is rendered by :mod:`srbench.report.render`, the
report's one renderer.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from srbench.report.portable import portable_text
from srbench.report.render import Table, to_markdown
from srbench.track import schema, tracking


def summary_table(client, outcomes) -> Table:
    """The finished runs among ``outcomes`` as a Table (values from MLflow, not from memory)."""
    runs = [tracking.retrying(client.get_run)(o.run_id) for o in outcomes if o.run_id]
    datasets: list[str] = []
    for run in runs:
        for key in run.data.metrics:
            parsed = schema.parse_dataset_metric(key)
            if parsed and parsed[0] == "psnr" and parsed[2] not in datasets:
                datasets.append(parsed[2])
    sizes = sorted({schema.measure_out_label(run.data.tags) for run in runs}) or [schema.LEGACY_MEASURE_OUT]
    at = sizes[0] if len(sizes) == 1 else "per run"
    columns = [("", "model"), ("", "BN"), ("", "scale"), ("", "runtime"), *[("", d) for d in datasets],
               ("", "params"),
               ("", f"Mult-Adds (G, {at})"), ("", f"latency (ms, {at})"), ("", f"peak mem (MiB, {at})"), ("", "run")]
    rows, records = [], []
    for run in runs:
        m, t = run.data.metrics, run.data.tags
        cells = []
        for d in datasets:
            pk = schema.find_dataset_metric(m, "psnr", d)
            sk = schema.find_dataset_metric(m, "ssim", d)
            cells.append(f"{m[pk]:.2f} / {m[sk]:.4f}" if pk and sk else "")

        def num(name: str, fmt: str, m: dict = m) -> str:
            return format(m[name], fmt) if name in m else ""

        rows.append([t.get("srbench.label", ""), t.get("srbench.bn_mode", ""), f"x{t.get('srbench.scale', '')}",
                     t.get("srbench.runtime", "eager"), *cells,
                     f"{int(m[schema.PARAMS]):,}" if schema.PARAMS in m else "", num(schema.MULT_ADDS, ".1f"),
                     num(schema.LATENCY, ".0f"), num(schema.PEAK_MEM, ".0f"), run.info.run_id[:8]])
        records.append({"run": run.info.run_id, **m})
    order = sorted(range(len(rows)), key=lambda i: (rows[i][2], rows[i][0], rows[i][1], rows[i][3]))
    return Table(name="benchmark", title="Benchmark", columns=columns, rows=[rows[i] for i in order],
                 csv=pd.DataFrame([records[i] for i in order]))


def write_summary(client, outcomes, path: Path, *, experiment: str, protocol: str, device: str) -> str:
    """Render the table as Markdown to ``path`` and return it (also for printing)."""
    table = to_markdown(summary_table(client, outcomes))
    notes = [f"- {o.label}: {o.note}" for o in outcomes if o.status == "skipped"]
    text = (f"# Benchmark: {experiment}\n\nPSNR / SSIM (on Y, or on RGB for rows of the `ecdn_report` protocol) under "
            f"protocol `{protocol}`; latency and peak memory on {device}. Every value is read from the MLflow run "
            f"named in the last column (`srbench report` renders the full report).\n\n{table}\n")
    if notes:
        text += "\nSkipped:\n" + "\n".join(notes) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(portable_text(text))
    return table
