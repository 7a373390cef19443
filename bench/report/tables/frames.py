"""Selecting and describing the rows of the frames :mod:`srbench.report.collect` fills, for every table module:
row identities in the fixed order, the (dataset, scale) columns, a row's label and runs, the protocols present."""

from __future__ import annotations

import numpy as np
import pandas as pd

from srbench.report.collect import Benchmark, dataset_rank, row_sort_key
from srbench.track import schema


def identities(frame: pd.DataFrame, cols=("model", "weights", "group", "bn_mode")) -> list[tuple]:
    """The distinct row identities of a frame, in the reports' fixed row order."""
    ids = {tuple(r) for r in frame[list(cols)].itertuples(index=False)}
    return sorted(ids, key=lambda i: row_sort_key(*i) if len(i) >= 4 else i)


def select(frame: pd.DataFrame, **eq) -> pd.DataFrame:
    """The rows whose columns equal the given values."""
    mask = np.ones(len(frame), dtype=bool)
    for k, v in eq.items():
        mask &= (frame[k] == v).to_numpy()
    return frame[mask]


def select_identity(frame: pd.DataFrame, ident: tuple, **eq) -> pd.DataFrame:
    """The rows of one (model, weights, group, bn_mode) identity (and the further values given)."""
    return select(frame, model=ident[0], weights=ident[1], group=ident[2], bn_mode=ident[3], **eq)


def columns(results: pd.DataFrame) -> list[tuple[str, int]]:
    """The (dataset, scale) pairs of a results frame, datasets in the reports' order, then by scale."""
    pairs = {(d, int(s)) for d, s in results[["dataset", "scale"]].itertuples(index=False)}
    return sorted(pairs, key=lambda p: (dataset_rank(p[0]), p[1]))


def newest_label(res: pd.DataFrame) -> str:
    """The row label (from the newest run's tags)."""
    return res.sort_values("start_time", ascending=False)["label"].iloc[0]


def run_ids(res: pd.DataFrame) -> str:
    """The short ids of the runs behind a row, in scale then dataset order, each once."""
    ordered = res.assign(_d=[dataset_rank(d) for d in res["dataset"]]).sort_values(["scale", "_d"])
    seen = []
    for s in ordered["short"]:
        if s not in seen:
            seen.append(s)
    return " ".join(seen)


def protocols(bench: Benchmark, color: str | None = "y", main: str = "standard") -> list[str]:
    """Protocol presets present in a benchmark (those measured on ``color``), ``main`` first, then by name."""
    if bench is None or bench.empty:
        return []
    res = bench.results if color is None else bench.results[bench.results["metric_color"] == color]
    names = sorted(set(res["protocol"]))
    return sorted(names, key=lambda n: (n != main, n))


def protocol_note(bench: Benchmark, protocol: str) -> str:
    """One line saying which protocol (and which gray-image handling) a table used."""
    res = bench.results[bench.results["protocol"] == protocol]
    grays = sorted(set(res["gray"]))
    colors = sorted(set(res["metric_color"]))
    gray_text = {"replicate": "gray images replicated to RGB and measured like colour ones",
                 "raw": "gray images measured on their own values (paper-compatible)"}
    return (f"Protocol `{protocol}` (colour {'/'.join(c.upper() for c in colors)}; "
            + "; ".join(gray_text.get(g, f"gray={g}") for g in grays) + ").")


def measured_at(frame: pd.DataFrame) -> str | None:
    """The one output size (``HxW``, tag ``srbench.measure_out``) the rows' Mult-Adds, latency and memory were
    measured at, for the column headers; None when the rows differ (then each row names its own)."""
    sizes = sorted(set(frame["measure_out"])) if "measure_out" in frame and len(frame) else [schema.LEGACY_MEASURE_OUT]
    return sizes[0] if len(sizes) == 1 else None
