"""The ablation tables: per sweep point, the mean ± std over its seeds of PSNR/SSIM per dataset, its cost, and its
PSNR difference to its series' baseline (a per-seed paired t-interval and an image-level paired bootstrap); and the
sentences stating the results, generated from the table's numbers.

Everything comes from the frame :func:`srbench.report.collect.read_training` fills (``sweeps=True``), per-image
values included (column ``per_image_``); nothing here reads the store.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from srbench.report.collect import dataset_rank
from srbench.report.render import Table
from srbench.report.seedstats import mean_std, paired_seed_difference
from srbench.report.tables.compare import paired_ci
from srbench.report.tables.format import DASH, ci_record, fmt, num, ok, pm
from srbench.report.tables.frames import measured_at
from srbench.track import schema

SWEPT_KEYS = ("group", "loss", "smoothl1_beta")


def _value_key(v) -> tuple:
    n = num(v)
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
                   [["seed", "run_id", "short", "metrics_", "per_image_"]].reset_index(drop=True) for p in pts["point"]]
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


def sweep_datasets(points: pd.DataFrame) -> list[str]:
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
        if key and ok(m.get(key)):
            out[seed] = float(m[key])
    return out


def _seed_averaged_per_image(runs: pd.DataFrame, seeds: list, dataset: str) -> pd.DataFrame | None:
    """Per-image PSNR averaged over the runs of ``seeds`` (name, psnr); None when a run has no per-image file."""
    frames = []
    for seed, per_image in zip(runs["seed"], runs["per_image_"]):
        if seed in seeds:
            f = per_image.get(dataset)
            if f is None:
                return None
            frames.append(f[["name", "psnr"]])
    if not frames:
        return None
    return pd.concat(frames).groupby("name", as_index=False)["psnr"].mean()


def _point_dataset(p, base, d: str, boot: dict) -> tuple[list[str], dict]:
    """One point's cells and CSV fields for dataset ``d``: seed mean ± std of PSNR and SSIM, the per-seed paired
    t-interval of the PSNR difference to the baseline, and the image-level bootstrap of the seed-averaged one."""
    psnr, ssim = seed_values(p["runs"], d), seed_values(p["runs"], d, "ssim")
    pmean, ps, n = mean_std(psnr.values())
    sm, ss, _ = mean_std(ssim.values())
    cells = [pm(pmean, ps, 2), pm(sm, ss, 4)]
    rec = {f"psnr_{d}": pmean, f"psnr_std_{d}": ps, f"ssim_{d}": sm, f"ssim_std_{d}": ss, f"n_seeds_{d}": n}
    t_ci = boot_ci = None
    if p["is_baseline"]:
        cells += [DASH, DASH]
    else:
        base_psnr = seed_values(base["runs"], d)
        t_ci = paired_seed_difference(psnr, base_psnr)
        common = sorted(set(psnr) & set(base_psnr), key=_value_key)
        boot_ci = paired_ci(_seed_averaged_per_image(p["runs"], common, d),
                            _seed_averaged_per_image(base["runs"], common, d), **boot)
        cells += [t_ci.text() + f" (n={t_ci.n})" if t_ci else f"n={len(common)}: no interval",
                  boot_ci.text() if boot_ci else "no per-image"]
    rec.update({f"{d}_t_delta": t_ci.mean if t_ci else None, f"{d}_t_low": t_ci.low if t_ci else None,
                f"{d}_t_high": t_ci.high if t_ci else None, f"{d}_t_n": t_ci.n if t_ci else None,
                **ci_record(d, boot_ci)})
    return cells, rec


def ablation_table(experiment: str, sweep_name: str, sweep: pd.DataFrame, *, n_resamples: int = 10_000,
                   seed: int = 0) -> Table | None:
    """One sweep: per point, the mean ± std over its seeds of the per-run PSNR/SSIM per dataset, efficiency, and its
    PSNR difference to its series' baseline point: a per-seed paired t-interval (:mod:`srbench.report.seedstats`)
    and the image-level paired bootstrap of the seed-averaged per-image PSNR (see :func:`ablation_points`)."""
    if sweep.empty:
        return None
    varying, primary, pts = ablation_points(sweep)
    datasets = sweep_datasets(pts)
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
        row = [label, str(len(runs)), f"{int(m['params']):,}" if ok(m.get("params")) else DASH,
               fmt(m.get("mult_adds_g"), 2), fmt(latency, 1)]
        rec = {"point": p["point"], "baseline": bool(p["is_baseline"]), **p["values"], "n_runs": len(runs),
               "seeds": " ".join(str(v) for v in runs["seed"]), "params": m.get("params"),
               "measure_out": p.get("measure_out"), "mult_adds_g": m.get("mult_adds_g"), "latency_ms": latency}
        for d in datasets:
            cells, fields = _point_dataset(p, base, d, {"n_resamples": n_resamples, "seed": seed})
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
    return Table(name=sweep_stem(sweep_name), title=f"Ablation {sweep_name} ({experiment})", columns=header,
                 rows=rows, csv=csv, notes=notes)


def mean_metric(runs: pd.DataFrame, key: str):
    """(mean, std, n) over a point's seed runs of the metric ``key``, over the runs that logged it (latency and
    memory are measured on the first seed only)."""
    return mean_std(m.get(key) for m in runs["metrics_"] if ok(m.get(key)))


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
            if not ok(mean):
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
        spread = [v for v in csv.get(f"psnr_std_{d}", pd.Series(dtype=float)) if ok(v)]
        if spread:
            out.append(f"Seed-to-seed standard deviation of the per-run mean PSNR on {d}: median {np.median(spread):.2f}"
                       f" dB (from {min(spread):.2f} to {max(spread):.2f} over {len(spread)} point(s)).")
    return out


def sweep_stem(sweep_name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", sweep_name)
    return safe if safe.startswith("ablation") else f"ablation_{safe}"
