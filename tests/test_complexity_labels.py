"""Cost figures carry the output size they were measured at and their unit in every report label (issue 15).

Builds the report's frames from hand-made run records (no MLflow), so it runs in a fraction of a second.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from srbench.report import tables
from srbench.report.collect import Benchmark, cell_frames
from srbench.track import schema


def _run(i: int, model: str, scale: int, out: str | None, *, madds: float = 10.0):
    tags = {"srbench.kind": "cell", "srbench.cell_key": f"k{i}", "srbench.model": model, "srbench.weights": model,
            "srbench.scale": str(scale), "srbench.bn_mode": "eval", "protocol.name": "standard",
            "protocol.color": "y", "srbench.device_name": "CPU Acme (2 threads)"}
    if out is not None:
        tags[schema.MEASURE_OUT_TAG] = out
    metrics = {"psnr_y.Set14": 28.0 + i, "ssim_y.Set14": 0.78, "n_images.Set14": 14, schema.PARAMS: 417_499,
               schema.PARAMS_EFFECTIVE: 396_955, schema.MULT_ADDS: madds, schema.LATENCY: 50.0,
               schema.LATENCY_IQR: 1.0, schema.PEAK_MEM: 120.0}
    return SimpleNamespace(info=SimpleNamespace(run_id=f"{i:032x}", start_time=i, end_time=i + 1, status="FINISHED"),
                           data=SimpleNamespace(tags=tags, params={"group": "4"}, metrics=metrics))


def _bench(runs) -> Benchmark:
    results, cells = cell_frames(runs)
    return Benchmark(name="b", results=results, cells=cells, n_finished=len(runs), parents=[])


def _labels(table) -> list[str]:
    return [" ".join(part for part in col if part) for col in table.columns]


def test_efficiency_table_names_the_measured_size_and_units():
    bench = _bench([_run(1, "ecdn_m", 4, "360x640"), _run(2, "carn_m", 4, "360x640")])
    table = tables.efficiency_table(bench, "standard")
    labels = _labels(table)
    assert len(table.align) == len(labels)
    assert "Mult-Adds (G, 360x640 out)" in labels and "Peak mem (MiB, 360x640 out)" in labels
    assert any(label.startswith("Latency (ms, 360x640 out)") for label in labels)
    assert "Params (total)" in labels and "Params (effective, all heads)" in labels
    assert not any("720" in label or "MB)" in label for label in labels)


def test_mixed_sizes_get_a_column_and_legacy_runs_read_as_720p():
    bench = _bench([_run(1, "ecdn_m", 4, "360x640"), _run(2, "carn_m", 4, None)])
    table = tables.efficiency_table(bench, "standard")
    labels = _labels(table)
    assert "Output (HxW)" in labels
    column = labels.index("Output (HxW)")
    assert sorted(row[column] for row in table.rows) == ["360x640", schema.LEGACY_MEASURE_OUT]
    assert len(table.align) == len(labels)


def test_paper_table_header_names_the_size():
    bench = _bench([_run(1, "ecdn_m", 4, "360x640")])
    labels = _labels(tables.paper_table(bench, "standard", published=()))
    assert "Mult-Adds (G, 360x640 out) x4" in labels


@pytest.mark.parametrize("name,scale,expected", [(schema.PARAMS, 4, "params_x4"),
                                                 (schema.MULT_ADDS, 2, "mult_adds_g_x2")])
def test_names_at_one_scale(name, scale, expected):
    assert schema.at_scale(name, scale) == expected
