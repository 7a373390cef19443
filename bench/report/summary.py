"""The summary table printed after a benchmark and written to ``reports/benchmark.md``, read back from MLflow.

One row per cell run (model, weights, BN mode, scale), one column per dataset with PSNR/SSIM, then params,
Mult-Adds, latency and peak memory. Every value is fetched from the MLflow run named in the row.
"""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from bench import tracking


def summary_rows(client, outcomes) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for the finished runs among ``outcomes`` (values from MLflow, not from memory)."""
    runs = [tracking.retrying(client.get_run)(o.run_id) for o in outcomes if o.run_id]
    datasets: list[str] = []
    for run in runs:
        for d in run.data.tags.get("srbench.datasets", "").split(","):
            name = Path(d).name
            if name and name not in datasets:
                datasets.append(name)
    headers = ["model", "BN", "scale", *datasets, "params", "Mult-Adds (G)", "latency (ms)", "peak mem (MiB)", "run"]
    rows = []
    for run in runs:
        m, t = run.data.metrics, run.data.tags
        color = t.get("protocol.color", "y")  # metrics are named psnr_y.<Set> or psnr_rgb.<Set>
        cells = [f"{m[f'psnr_{color}.{d}']:.2f} / {m[f'ssim_{color}.{d}']:.4f}" if f"psnr_{color}.{d}" in m else ""
                 for d in datasets]
        rows.append([t.get("srbench.label", ""), t.get("srbench.bn_mode", ""), f"x{t.get('srbench.scale', '')}", *cells,
                     f"{int(m['params']):,}" if "params" in m else "",
                     f"{m['mult_adds_g']:.1f}" if "mult_adds_g" in m else "",
                     f"{m['latency_ms']:.0f}" if "latency_ms" in m else "",
                     f"{m['peak_mem_mb']:.0f}" if "peak_mem_mb" in m else "",
                     run.info.run_id[:8]])
    rows.sort(key=lambda r: (r[2], r[0], r[1]))
    return headers, rows


def write_summary(client, outcomes, path: Path, *, experiment: str, protocol: str, device: str) -> str:
    """Render the table as Markdown to ``path`` and return it (also for printing)."""
    headers, rows = summary_rows(client, outcomes)
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    notes = [f"- {o.label}: {o.note}" for o in outcomes if o.status == "skipped"]
    text = (f"# Benchmark: {experiment}\n\nPSNR / SSIM (on Y, or on RGB for rows of the `ecdn_report` protocol) under protocol "
            f"`{protocol}`; Mult-Adds for a 1280x720 output; latency and peak memory on {device}. Every value is read "
            f"from the MLflow run named in the last column (`srbench report` renders the full report).\n\n{table}\n")
    if notes:
        text += "\nSkipped:\n" + "\n".join(notes) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return table
