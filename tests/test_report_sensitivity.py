"""The report's protocol-sensitivity table and "nearest knob" column, on a tiny MLflow store: benchmark cells written
as in tests/test_report.py and explain runs written by the project's own helper (srbench.track.explain_log).
Expected cells are hand-computed from the numbers below."""

from __future__ import annotations

import pytest

from srbench.eval.explain import Deviation, Explained, Row
from srbench.eval.protocol import get_protocol
from test_report import T0, _cell


def _explained(dataset, rows):
    """An Explained with rows (label, psnr, ssim), standard first; Δ computed here by hand-readable subtraction."""
    out = []
    for label, p, s in rows:
        if label == "standard":
            dev = Deviation("standard", "-")
        else:
            knob, value = label.split(": ")
            dev = Deviation(knob, value, ((knob, value),))
        out.append(Row(dev, p, s, p - rows[0][1], s - rows[0][2]))
    return Explained(dataset, 4, get_protocol("standard"), out, 14, 1.0)


@pytest.fixture(scope="module")
def store(tmp_path_factory, benchmark_root):
    from srbench.track.explain_log import log_explained
    from srbench.track.tracking import client, get_or_create_experiment

    tmp = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    c = client(uri)
    exp = get_or_create_experiment(c, "benchmark")
    parent = c.create_run(exp, start_time=T0, tags={"srbench.kind": "benchmark"}).info.run_id
    # bicubic Set14 x4 measured 26.10 (mean of 26.0, 26.1, 26.2), SSIM 0.761; Set5 x4 28.42 = published (no knob)
    _cell(c, exp, tmp, parent, model="bicubic", weights=None, scale=4,
          per_image={"Set14": [26.0, 26.1, 26.2], "Set5": [28.42] * 5}, start=1)
    # carn_m Set14 x4 measured 28.50 vs published 28.42/0.7762 (the weights catalogue)
    _cell(c, exp, tmp, parent, model="carn_m", weights="carn_m", scale=4, per_image={"Set14": [28.5, 28.5, 28.5]},
          start=2)
    c.set_terminated(parent, "FINISHED")
    common = dict(table_md="t", key="k", pairs=False, experiment="explain", tracking_uri=uri)
    ids = {}
    ids["bicubic"] = log_explained(_explained("Set14", [
        ("standard", 26.088, 0.7048), ("gray: raw", 26.003, 0.70268), ("border: 0", 25.884, 0.7055)]),
        model="bicubic", label="bicubic", weights="none", weights_sha256="-", **common)
    ids["carn_m"] = log_explained(_explained("Set14", [
        ("standard", 28.500, 0.7800), ("gray: raw", 28.480, 0.7790), ("lr_input: pil/full", 28.400, 0.7770),
        ("border: 0", 28.300, 0.7900), ("gray + border: raw + 0", 28.450, 0.7900)]),
        model="carn_m", label="carn_m", weights="carn_m", weights_sha256="-", **common)
    # an older explain run of carn_m, replaced by the newer one above? No: logged first would lose; log a FAILED one
    failed = c.create_run(get_or_create_experiment(c, "explain"), tags={"srbench.kind": "explain"}).info.run_id
    c.set_terminated(failed, "FAILED")
    return {"uri": uri, "ids": ids}


def _short(rid):
    return rid[:8]


def test_nearest_knob_column(store):
    from srbench.report import collect, sensitivity, tables

    s = collect.Store(store["uri"])
    try:
        runs = sensitivity.read_explain_runs(s)
        assert {r.model for r in runs} == {"bicubic", "carn_m"}
        bench = collect.read_benchmark(s, "benchmark")
        import functools
        t, _ = tables.paper_vs_measured(bench, ["standard"], n_resamples=200,
                                        nearest=functools.partial(sensitivity.nearest_knob, runs))
    finally:
        s.close()
    col = [h for _, h in t.columns].index("Nearest knob")
    by = {(r[0], r[2]): r[col] for r in t.rows}
    # bicubic Set14: 26.003 -> 26.00 and 0.70268 -> 0.7027, the printed row
    assert by[("Bicubic", "Set14")] == f"reproduced by gray: raw ({_short(store['ids']['bicubic'])})"
    # bicubic Set5 x4: measured 28.42 = published 28.42, but SSIM 0.7842 vs 0.8104: beyond rounding, no explain run
    assert by[("Bicubic", "Set5")] == "—"
    # carn_m Set14, printed 28.42/0.7762: distances in printed digits: gray raw |28.48-28.42|*100 + |0.7790-0.7762|
    # *1e4 = 6 + 28 = 34; pil/full 2 + 8 = 10; border 0 12 + 138; the pair 3 + 138; standard 8 + 38 = 46 ->
    # pil/full, residual
    # published - measured = +0.020 dB, SSIM -0.0008
    assert by[("CARN-M", "Set14")] == (f"lr_input: pil/full (left: +0.020 dB, -0.0008; "
                                       f"{_short(store['ids']['carn_m'])})")
    assert "Nearest knob" in " ".join(t.notes)


def test_sensitivity_table(store):
    from srbench.report import collect, sensitivity

    s = collect.Store(store["uri"])
    try:
        t = sensitivity.sensitivity_table(sensitivity.read_explain_runs(s), "Set14", 4)
    finally:
        s.close()
    assert [h for _, h in t.columns] == ["Knob", "Δ PSNR", "Δ SSIM", "Δ PSNR", "Δ SSIM", "max |Δ PSNR|"]
    assert [g for g, _ in t.columns][1:5] == ["bicubic", "bicubic", "carn_m", "carn_m"]
    rows = {r[0]: r[1:] for r in t.rows}
    assert rows["standard"][:4] == ["26.088", "0.7048", "28.500", "0.7800"]
    assert rows["gray: raw"] == ["-0.085", "-0.0021", "-0.020", "-0.0010", "0.085"]
    assert rows["border: 0"] == ["-0.204", "+0.0007", "-0.200", "+0.0100", "0.204"]
    assert rows["lr_input: pil/full"] == ["—", "—", "-0.100", "-0.0030", "0.100"]
    assert "gray + border: raw + 0" not in rows  # pairs are not single knobs


def test_report_build_shows_both(store, tmp_path, monkeypatch):
    from srbench.report import build

    rep = build.generate(uri=store["uri"], out=tmp_path / "reports", n_resamples=200)
    text = (tmp_path / "reports" / "README.md").read_text()
    assert "Protocol sensitivity, Set14 x4" in text and "Nearest knob" in text
    assert any("explain run(s) read" in s for s in rep.sources)
