"""Efficiency: parameters, Mult-Adds, latency, peak memory and PSNR per Mult-Add per cell, and the runtime
comparison (median latency per inference runtime) of the cells measured on several runtimes."""

from __future__ import annotations

import pandas as pd

from srbench.report.collect import Benchmark, row_sort_key
from srbench.report.render import BEST, Part, Table
from srbench.report.tables.format import DASH, fmt, fmt_count, ok
from srbench.report.tables.frames import measured_at, protocol_note, select


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
        m = select(res, model=c.model, weights=c.weights, group=c.group, bn_mode=c.bn_mode, scale=c.scale,
                    dataset=dataset)
        psnr = m["psnr"].iloc[0] if not m.empty else None
        per_madd = psnr / c.mult_adds_g if ok(psnr) and ok(c.mult_adds_g) and c.mult_adds_g > 0 else None
        rows.append([c.label, f"x{c.scale}", fmt_count(c.params),
                     fmt_count(c.params_effective),
                     *([] if at else [c.measure_out]),
                     fmt(c.mult_adds_g, 1) if ok(c.mult_adds_g) and c.mult_adds_g > 0 else DASH,
                     fmt(c.latency_ms, 1), fmt(c.latency_iqr_ms, 1), c.device_name or DASH, c.runtime or DASH,
                     fmt(c.peak_mem_mb, 1), fmt(psnr, 2), fmt(per_madd, 3), c.short])
        csv_rows.append({"model": c.label, "arch": c.model, "weights": c.weights, "bn_mode": c.bn_mode,
                         "scale": c.scale, "params": c.params, "params_effective": c.params_effective,
                         "measure_out": c.measure_out, "mult_adds_g": c.mult_adds_g, "latency_ms": c.latency_ms,
                         "latency_iqr_ms": c.latency_iqr_ms, "device": c.device_name, "runtime": c.runtime,
                         "peak_mem_mb": c.peak_mem_mb, f"psnr_{dataset}": psnr, "psnr_per_gmult_add": per_madd,
                         "run": c.short})
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
             "(the one that ran the cell's forward passes; compare latencies only within one device and one run). "
             "Peak memory: MiB (2^20 bytes) of the pass's live tensors at their peak (activations, workspace and "
             "output; not the weights).",
             f"PSNR / GMult-Adds: the PSNR on {dataset} at the row's scale divided by the Mult-Adds in G."]
    return Table(name="efficiency", title=f"Efficiency — protocol {protocol}", columns=header, rows=rows, csv=csv,
                 notes=notes, align="llrr" + ("" if at else "l") + "rrrllrrrl")


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
