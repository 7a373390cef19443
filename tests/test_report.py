"""srbench report on a small FAKE MLflow store written with the client, following srbench.track.tracking's run schema.

Expected values are hand-computed from the fake per-image numbers below, not taken from the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

T0 = 1_700_000_000_000  # ms; start times are set explicitly so "newest" is under the test's control
KNOBS = {"name": "standard", "color": "y", "border": "scale", "quantize": "round", "lr_source": "file",
         "ssim": "gaussian11", "gray": "replicate", "double_scale": "False"}
NAMES = {"Set5": ["baby", "bird", "butterfly", "head", "woman"], "Set14": ["baboon", "bridge", "face"],
         "B100": ["101085", "3096"]}

# Per-image PSNR / SSIM of each fake cell (scale 4 unless said): dataset mean = mean of these.
BICUBIC = {"Set5": [28.0, 29.0, 30.0, 27.0, 26.0], "Set14": [25.0, 26.0, 27.0], "B100": [24.0, 25.0]}
CARN_M = {"Set5": [32.0, 33.0, 31.0, 32.5, 31.0], "Set14": [28.0, 28.5, 29.5], "B100": [27.0, 28.0]}
CARN_M_OLD = {"Set5": [10.0] * 5, "Set14": [10.0] * 3, "B100": [10.0] * 2}      # older duplicate: must lose
ECDN_EVAL = {"Set5": [31.5, 32.5, 30.5, 32.0, 31.0], "Set14": [27.5, 28.0, 29.0], "B100": [26.5, 27.5]}
ECDN_BATCH = {k: [v + 0.25 for v in vals] for k, vals in ECDN_EVAL.items()}      # constant shift +0.25 dB
CARN_M_X2 = {"Set5": [37.0, 38.0, 37.5, 38.5, 37.39]}                           # mean 37.678 (vs published 37.53)
# carn_m under the ECDN report's protocol (RGB, +48.13 dB per image), with per-image LPIPS: PSNR sums 400.0 + 231.0 +
# 150.5 = 781.5, LPIPS sums 0.80 + 1.00 + 0.50 = 2.30 over the 10 images (printed for carn_m: 8854 and 36.1)
CARN_M_REPORT = {"Set5": [80.0, 81.0, 79.5, 80.5, 79.0], "Set14": [76.0, 77.0, 78.0], "B100": [75.0, 75.5]}
LPIPS_REPORT = {"Set5": [0.10, 0.20, 0.15, 0.05, 0.30], "Set14": [0.40, 0.25, 0.35], "B100": [0.20, 0.30]}
REPORT_KNOBS = {"name": "ecdn_report", "color": "rgb", "border": "0", "quantize": "truncate", "double_scale": "True",
                "lpips_input": "zero_one"}


FAKE_HR = np.random.default_rng(0).integers(0, 250, size=(16, 20, 3), dtype=np.uint8)   # no clipping at +3
# crops given at report time (--crop): of the x2 run without an HR image, and a second box of the x4 image
CROPS = ["Set5/baby@2:2,3,4,5", "Set5/baby@4:3,4,3,3"]
ECDN_CROP_PSNR = 41.5   # the crop PSNR the fake ecdn cell "logged" for the declared box (the report must show it)


def _ssim(psnr):
    return [round(0.5 + p / 100.0, 4) for p in psnr]   # a fixed, simple function of PSNR


def _write_csv(path: Path, names, psnr, ssim, lpips=None):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "psnr", "ssim", "forward_s", "gray", "lpips"])
        for i, (n, p, s) in enumerate(zip(names, psnr, ssim)):
            w.writerow([n, p, s, 0.01, n == "bridge", "" if lpips is None else lpips[i]])


def _cell(c, exp_id, tmp, parent, *, model, weights, scale, per_image, bn="eval", start=0, status="FINISHED",
          key=None, params=None, madds=None, protocol=None, label=None, group="4", lpips=None):
    proto = dict(KNOBS, **(protocol or {}))
    color = proto["color"]
    key = key or hashlib.sha1(f"{model}{weights}{scale}{bn}{proto['name']}".encode()).hexdigest()
    tags = {"mlflow.parentRunId": parent, "srbench.kind": "cell", "srbench.cell_key": key, "srbench.model": model,
            "srbench.arch": model, "srbench.weights": weights or "none", "srbench.weights_sha256": "0" * 64,
            "srbench.label": label or (model if not weights or weights == model else f"{model} ({weights})"),
            "srbench.scale": str(scale), "srbench.bn_mode": bn, "srbench.device": "cpu",
            "srbench.device_name": "Fake CPU", "srbench.torch": "2.x", "srbench.git_commit": "abc",
            "srbench.code_version": "1", "srbench.datasets": ",".join(per_image),
            **{f"protocol.{k}": str(v) for k, v in proto.items()}, "protocol.bn_mode": bn}
    run = c.create_run(exp_id, start_time=T0 + start, tags=tags)
    rid = run.info.run_id
    for k, v in {"model": model, "weights": weights or "none", "scale": str(scale), "group": group,
                 "protocol": proto["name"], "bn_mode": bn}.items():
        c.log_param(rid, k, v)
    for ds, psnr in per_image.items():
        ssim = _ssim(psnr)
        c.log_metric(rid, f"psnr_{color}.{ds}", float(np.mean(psnr)))
        c.log_metric(rid, f"ssim_{color}.{ds}", float(np.mean(ssim)))
        c.log_metric(rid, f"n_images.{ds}", len(psnr))
        c.log_metric(rid, f"forward_s.{ds}", 0.01 * len(psnr))
        d = tmp / rid / "per_image"
        d.mkdir(parents=True, exist_ok=True)
        _write_csv(d / f"{ds}.csv", NAMES[ds], psnr, ssim, (lpips or {}).get(ds))
        c.log_artifact(rid, str(d / f"{ds}.csv"), "per_image")
        if lpips and ds in lpips:
            c.log_metric(rid, f"lpips.{ds}", float(np.mean(lpips[ds])))
    for k, v in {"params": params or 0, "params_effective": params or 0, "mult_adds_g": madds or 0,
                 "latency_ms": 12.5, "latency_iqr_ms": 0.5, "peak_mem_mb": 100.0}.items():
        c.log_metric(rid, k, float(v))
    if status != "RUNNING":
        c.set_terminated(rid, status, end_time=T0 + start + 500)
    return rid


def _train_run(c, exp_id, tmp, *, sweep, group=None, loss=None, psnr5, params, start, baseline=False,
               done=True):
    import json
    tags = {"srbench.kind": "train", "srbench.sweep": sweep, "srbench.budget": "200 steps on T91",
            "srbench.model": "ecdn", "srbench.point_key": f"k{start}",
            "srbench.sweep_point": json.dumps({"group": group} if group is not None else {"loss": loss})}
    if done:
        tags["srbench.point_done"] = "1"
    if baseline:
        tags["srbench.baseline"] = "true"
    rid = c.create_run(exp_id, start_time=T0 + start, tags=tags).info.run_id
    if group is not None:
        c.log_param(rid, "group", str(group))
    if loss is not None:
        c.log_param(rid, "loss", loss)
        c.log_param(rid, "smoothl1_beta", "0.5")
    c.log_metric(rid, "psnr_y.Set5", float(np.mean(psnr5)))
    c.log_metric(rid, "ssim_y.Set5", float(np.mean(_ssim(psnr5))))
    c.log_metric(rid, "params", float(params))
    c.log_metric(rid, "mult_adds_g", 10.0)
    c.log_metric(rid, "latency_ms", 5.0)
    d = tmp / rid / "per_image"
    d.mkdir(parents=True)
    _write_csv(d / "Set5.csv", NAMES["Set5"], psnr5, _ssim(psnr5))
    c.log_artifact(rid, str(d / "Set5.csv"), "per_image")
    c.set_terminated(rid, "FINISHED", end_time=T0 + start + 1000)
    return rid


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from srbench.track.tracking import client, get_or_create_experiment
    tmp = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    c = client(uri)
    exp = get_or_create_experiment(c, "benchmark")
    parent = c.create_run(exp, start_time=T0, tags={"srbench.kind": "benchmark",
                                                    "srbench.experiment_file": "x.yaml"}).info.run_id
    (tmp / "experiment.yaml").write_text(
        "name: benchmark\ncrops:\n  - {dataset: Set5, image: baby, scale: 4, box: [2, 3, 4, 5]}\n")
    c.log_artifact(parent, str(tmp / "experiment.yaml"))
    ids = {}
    al = get_or_create_experiment(c, "ablation_loss")
    ids["l1"] = _train_run(c, al, tmp, sweep="ablation_loss", loss="l1", psnr5=[30.0, 31.0, 32.0, 33.0, 34.0],
                           params=50_000, start=140)
    ids["smoothl1"] = _train_run(c, al, tmp, sweep="ablation_loss", loss="smoothl1", baseline=True,
                                 psnr5=[30.2, 31.2, 32.2, 33.2, 34.2], params=50_000, start=150)
    tr = get_or_create_experiment(c, "training")
    rid = c.create_run(tr, start_time=T0 + 1, run_name="ecdn-smoke",
                       tags={"srbench.kind": "train", "srbench.model": "ecdn"}).info.run_id
    for step, (loss, val) in enumerate([(0.1, 25.0), (0.05, 27.0), (0.04, 28.0)]):
        c.log_metric(rid, "loss", loss, step=step * 100)
        c.log_metric(rid, "val_psnr.x2", val, step=step * 100)
    c.log_metric(rid, "train_seconds", 5400.0)                        # 1.5 h, logged by srbench.train.trainer
    c.set_terminated(rid, "FINISHED", end_time=T0 + 1 + 7_200_000)    # run duration 2 h (not used)
    ids["train"] = rid
    ids["trained"] = _cell(c, exp, tmp, parent, model="ecdn", weights=f"run:{rid}:best", scale=4, start=5,
                           per_image={k: [v - 1.0 for v in vals] for k, vals in ECDN_EVAL.items()},
                           params=694_555, madds=40.0)
    ids["bicubic"] = _cell(c, exp, tmp, parent, model="bicubic", weights=None, scale=4, per_image=BICUBIC, start=10,
                           group="None")
    ids["carn_m_old"] = _cell(c, exp, tmp, parent, model="carn_m", weights="carn_m", scale=4, per_image=CARN_M_OLD,
                              start=20, params=412_000, madds=32.0)
    ids["carn_m"] = _cell(c, exp, tmp, parent, model="carn_m", weights="carn_m", scale=4, per_image=CARN_M,
                          start=30, params=412_000, madds=32.0)        # same cell key, newer: wins
    ids["carn_m_x2"] = _cell(c, exp, tmp, parent, model="carn_m", weights="carn_m", scale=2, per_image=CARN_M_X2,
                             start=35, params=412_000, madds=91.0)
    ids["ecdn_eval"] = _cell(c, exp, tmp, parent, model="ecdn", weights="ecdn", scale=4, per_image=ECDN_EVAL,
                             start=40, params=694_555, madds=40.0)
    ids["carn_m_report"] = _cell(c, exp, tmp, parent, model="carn_m", weights="carn_m", scale=4, bn="batch",
                                 per_image=CARN_M_REPORT, lpips=LPIPS_REPORT, protocol=REPORT_KNOBS, start=55,
                                 params=414_811, madds=32.0)
    ids["ecdn_batch"] = _cell(c, exp, tmp, parent, model="ecdn", weights="ecdn", scale=4, per_image=ECDN_BATCH,
                              bn="batch", start=50, params=694_555, madds=40.0)
    # newer but not FINISHED: must be ignored
    ids["running"] = _cell(c, exp, tmp, parent, model="carn_m", weights="carn_m", scale=4, start=60,
                           per_image={"Set5": [99.0] * 5}, status="RUNNING", params=1, madds=1)
    ids["failed"] = _cell(c, exp, tmp, parent, model="ecdn", weights="ecdn", scale=4, start=70, key="other",
                          per_image={"Set5": [98.0] * 5}, status="FAILED", params=1, madds=1)
    c.set_terminated(parent, "FINISHED", end_time=T0 + 1000)
    # the crop images of Set5/baby x4 as a cell logs them (srbench.track.crops): the carn_m cell's SR image (a copy
    # of the fake HR with a brightened patch) and the HR image, but no box scores (the report computes them from the
    # two images); the ecdn cell's SR image and a logged box score (the report shows it as logged); and for x2 the
    # carn_m cell's SR image alone, as runs from before the HR image was logged have it
    from srbench.data.images import write_image
    sr = FAKE_HR.copy()
    sr[2:6, 3:8] = np.clip(sr[2:6, 3:8].astype(int) + 3, 0, 255).astype(np.uint8)
    (tmp / "crops" / "hr").mkdir(parents=True)
    write_image(tmp / "crops" / "baby_x4.png", sr)
    write_image(tmp / "crops" / "baby_x2.png", sr)
    write_image(tmp / "crops" / "hr" / "baby_x4.png", FAKE_HR)
    c.log_artifact(ids["carn_m"], str(tmp / "crops" / "baby_x4.png"), "crops/Set5")
    c.log_artifact(ids["carn_m"], str(tmp / "crops" / "hr" / "baby_x4.png"), "crops/Set5/hr")
    c.log_artifact(ids["ecdn_eval"], str(tmp / "crops" / "baby_x4.png"), "crops/Set5")
    c.log_metric(ids["ecdn_eval"], "crop.psnr_y.Set5.baby.2_3_4_5", ECDN_CROP_PSNR)
    c.log_artifact(ids["carn_m_x2"], str(tmp / "crops" / "baby_x2.png"), "crops/Set5")

    # ablations and training
    ag = get_or_create_experiment(c, "ablation_group")
    base = [30.0, 31.0, 32.0, 33.0, 34.0]
    ids["g1"] = _train_run(c, ag, tmp, sweep="group", group=1, psnr5=base, params=100_000, start=100)
    ids["g2"] = _train_run(c, ag, tmp, sweep="group", group=2, psnr5=[v + 0.1 for v in base], params=60_000,
                           start=110)
    ids["g4"] = _train_run(c, ag, tmp, sweep="group", group=4, psnr5=[30.0, 31.5, 31.5, 33.5, 33.5],
                           params=40_000, start=120)
    ids["g8_unfinished"] = _train_run(c, ag, tmp, sweep="group", group=8, psnr5=base, params=30_000, start=130,
                                      done=False)   # FINISHED training, evaluation not complete (no point_done)
    return {"uri": uri, "ids": ids, "tmp": tmp}


@pytest.fixture(scope="module")
def report(store, tmp_path_factory):
    from srbench.report import build
    out = tmp_path_factory.mktemp("reports")
    rep = build.generate(uri=store["uri"], out=out, n_resamples=2000, crops=CROPS)
    return {"out": out, "report": rep, **store}


def _row(text: str, startswith: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith("| " + startswith + " |")]
    assert len(rows) == 1, (startswith, rows)
    return rows[0]


def _short(rid):
    return rid[:8]


def test_paper_table_markdown_values_and_marks(report):
    md = (report["out"] / "tables" / "paper_table.md").read_text()
    # Set5 x4 PSNR means: bicubic 28.00, carn_m 31.90, ecdn eval 31.50, ecdn batch 31.75
    # SSIM = 0.5 + psnr/100 -> 0.7800, 0.8190, 0.8150, 0.8175
    carn = _row(md, "carn_m")
    assert "**31.90**/**0.8190**" in carn
    batch = _row(md, "ecdn [BN batch]")
    assert "_31.75_/_0.8175_" in batch
    eval_ = _row(md, "ecdn")
    assert "31.50/0.8150" in eval_ and "**31.50" not in eval_ and "_31.50" not in eval_
    assert "28.00/0.7800" in _row(md, "bicubic")
    # the x2 column: only carn_m measured -> nothing to compare, no mark; published rows never marked
    assert "| 37.68/0.8768 |" in carn
    pub = [line for line in md.splitlines() if line.startswith("| CARN (published:")]
    assert len(pub) == 1 and "32.13/0.8937" in pub[0] and "**" not in pub[0] and "_32" not in pub[0]
    # the row names its runs
    assert _short(report["ids"]["carn_m"]) in carn and _short(report["ids"]["carn_m_x2"]) in carn


def test_paper_table_latex(report):
    tex = (report["out"] / "tables" / "paper_table.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    line = [l for l in tex.splitlines() if l.startswith(r"carn\_m &")]
    assert len(line) == 1
    assert r"\textbf{31.90}/\textbf{0.8190}" in line[0]
    batch = [l for l in tex.splitlines() if l.startswith(r"ecdn [BN batch] &")][0]
    assert r"\underline{31.75}/\underline{0.8175}" in batch
    assert r"\multicolumn{" in tex and r"\cmidrule(lr)" in tex
    # the published block is separated by a rule and has no marks
    pub = [l for l in tex.splitlines() if l.startswith("CARN (published")][0]
    assert r"\textbf" not in pub and r"\underline" not in pub


def test_unfinished_runs_ignored_and_newest_duplicate_wins(report):
    text = "\n".join(p.read_text() for p in (report["out"] / "tables").glob("*.md"))
    for bad in ("running", "failed", "carn_m_old"):
        assert _short(report["ids"][bad]) not in text, bad
    assert "99.00" not in text and "98.00" not in text and "10.00/" not in text


def test_csv_content(report):
    import pandas as pd
    df = pd.read_csv(report["out"] / "tables" / "paper_table.csv")
    row = df[(df["arch"] == "carn_m") & (df["source"] == "measured")].iloc[0]
    assert row["Set5_x4_psnr"] == pytest.approx(31.9)
    assert row["Set14_x4_psnr"] == pytest.approx((28.0 + 28.5 + 29.5) / 3)
    assert row["Set5_x2_psnr"] == pytest.approx(37.678)
    assert row["params"] == 412_000
    pub = df[df["model"] == "CARN-M"].iloc[0]
    assert pub["Set5_x4_psnr"] == pytest.approx(31.92) and pub["source"].startswith("published: Ahn")
    assert "**" not in (report["out"] / "tables" / "paper_table.csv").read_text()


def test_ecdn_table1_sums(report):
    import pandas as pd
    df = pd.read_csv(report["out"] / "tables" / "ecdn_table1_standard.csv", keep_default_na=False)
    by = {(r.weights or r.arch, r.bn_mode): r for r in df.itertuples()}
    # hand sums over the 10 fake images (5 + 3 + 2)
    assert by[("carn_m", "eval")].psnr_sum == pytest.approx(159.5 + 86.0 + 55.0)
    assert by[("bicubic", "eval")].psnr_sum == pytest.approx(140.0 + 78.0 + 49.0)
    assert by[("ecdn", "batch")].psnr_sum == pytest.approx(157.5 + 84.5 + 54.0 + 10 * 0.25)
    assert by[("carn_m", "eval")].ssim_sum == pytest.approx(10 * 0.5 + (159.5 + 86.0 + 55.0) / 100, abs=1e-3)
    assert by[("carn_m", "eval")].n_images == 10
    assert int(by[("ecdn", "eval")].params_published) == 694_555 and by[("bicubic", "eval")].params_published == ""
    md = (report["out"] / "tables" / "ecdn_table1_standard.md").read_text()
    assert "300.5" in _row(md, "carn_m") and "released checkpoint" in _row(md, "carn_m")
    trained = [line for line in md.splitlines() if line.startswith("| ecdn (run:")]
    assert len(trained) == 1 and "1.50 h" in trained[0]           # train_seconds of the linked run
    assert trained[0].startswith(f"| ecdn (run:{_short(report['ids']['train'])}:best) |")   # ids shortened
    assert by[("ecdn", "eval")].psnr_sum == pytest.approx(157.5 + 84.5 + 54.0)
    # no per-image LPIPS in these runs: said, not invented; no measured − printed outside the report's protocol
    assert "| n/a: not measured | — |" in _row(md, "carn_m") and by[("carn_m", "eval")].psnr_score_delta == ""
    assert "Measured − printed" not in md   # nor a sentence about the differences that are not shown


def test_ecdn_table1_lpips_and_agreement_under_the_report_protocol(report):
    import pandas as pd
    df = pd.read_csv(report["out"] / "tables" / "ecdn_table1_ecdn_report.csv")
    assert len(df) == 1
    row = df.iloc[0]
    assert row.psnr_sum == pytest.approx(781.5) and row.n_images == 10
    assert row.lpips_sum == pytest.approx(2.30) and row.lpips_mean == pytest.approx(0.230)
    assert row.psnr_score_delta == pytest.approx(781.5 - 8854) and row.lpips_score_delta == pytest.approx(2.30 - 36.1)
    md = (report["out"] / "tables" / "ecdn_table1_ecdn_report.md").read_text()
    assert "| carn_m [BN batch] | 2.3 | 0.2300 | 781.5 | " in md
    assert "| 8854 | 36.1 | -8072.5 | -33.80 |" in _row(md, "carn_m [BN batch]")
    # the agreement sentence is computed from these numbers, not typed in
    assert ("Measured − printed: PSNR score by -8072.5 to -8072.5 over 1 row(s) (largest |Δ| 8072.5, carn_m [BN "
            "batch]); LPIPS score by -33.80 to -33.80 over 1 row(s)") in md
    assert "`zero_one`: input x/255 in [0, 1]" in md
    readme = (report["out"] / "README.md").read_text()
    assert "1.5 points" not in readme and "does not reproduce" not in readme


def test_paper_vs_measured_flags(report):
    import pandas as pd
    df = pd.read_csv(report["out"] / "tables" / "paper_vs_measured.csv")
    x2 = df[(df["model"] == "CARN-M") & (df["dataset"] == "Set5") & (df["scale"] == 2)].iloc[0]
    assert x2["psnr_delta"] == pytest.approx(37.678 - 37.53) and bool(x2["flagged"])
    x4 = df[(df["model"] == "CARN-M") & (df["dataset"] == "Set5") & (df["scale"] == 4)].iloc[0]
    assert x4["psnr_delta"] == pytest.approx(31.90 - 31.92) and not bool(x4["flagged"])
    # the per-image bootstrap interval contains the point difference
    assert x2["psnr_ci_low"] <= x2["psnr_delta"] <= x2["psnr_ci_high"]
    assert "CARN: no measured cells" in (report["out"] / "README.md").read_text()
    # which rows reproduce the paper is computed: CARN-M x4 is within 0.05 dB on Set5 only (Set14 +0.247, B100 +0.060)
    md = (report["out"] / "tables" / "paper_vs_measured.md").read_text()
    assert ("CARN-M x2 under `standard`: beyond 0.05 dB on Set5 (+0.148 dB); CARN-M x4 under `standard`: beyond "
            "0.05 dB on Set14 (+0.247 dB), B100 (+0.060 dB); within 0.05 dB on Set5") in md


def test_bn_table_constant_shift(report):
    import pandas as pd
    df = pd.read_csv(report["out"] / "tables" / "bn_mode.csv")
    for r in df.itertuples():
        assert r.psnr_delta == pytest.approx(0.25)
        assert r.psnr_ci_low == pytest.approx(0.25) and r.psnr_ci_high == pytest.approx(0.25)
    assert set(df["dataset"]) == {"Set5", "Set14", "B100"}


def test_ablation_table_vs_baseline(report):
    import pandas as pd
    df = pd.read_csv(report["out"] / "tables" / "ablation_group.csv")
    assert list(df["group"]) == [1, 2, 4]          # the point without srbench.point_done=1 is not read
    assert bool(df["baseline"].iloc[0])
    assert df["Set5_delta"].iloc[1] == pytest.approx(0.1)
    assert df["Set5_ci_low"].iloc[1] == pytest.approx(0.1) and df["Set5_ci_high"].iloc[1] == pytest.approx(0.1)
    # group 4 differences vs base: 0, +0.5, -0.5, +0.5, -0.5 -> mean 0, interval straddles 0
    assert df["Set5_delta"].iloc[2] == pytest.approx(0.0, abs=1e-12)
    assert df["Set5_ci_low"].iloc[2] < 0 < df["Set5_ci_high"].iloc[2]


def test_ablation_baseline_tag_wins(report):
    import pandas as pd
    df = pd.read_csv(report["out"] / "tables" / "ablation_loss.csv")
    assert list(df["loss"]) == ["l1", "smoothl1"]
    assert list(df["baseline"]) == [False, True]            # tagged srbench.baseline=true, though not first
    assert df["Set5_delta"].iloc[0] == pytest.approx(-0.2)  # l1 minus the smoothl1 baseline, per image
    assert df["Set5_ci_high"].iloc[0] == pytest.approx(-0.2)


def test_published_values_agree_with_the_weights_catalogue():
    from srbench.report import reference as ref
    from srbench.models import weights
    for pub in (ref.CARN, ref.CARN_M):
        metrics = weights.CATALOGUE[pub.weights].metrics
        assert metrics, f"the catalogue holds no published metrics for {pub.weights}"
        for (d, s), value in pub.scores.items():
            assert tuple(metrics[d][s]) == value, (pub.name, d, s)
        assert {s: metrics["mult_adds"][s] for s in (2, 3, 4)} == pub.mult_adds_g
    for arch, params in ref.ECDN_TABLE1_PARAMS.items():
        record = weights.CATALOGUE[arch]
        assert params == record.params_effective, arch  # the report counts the parameters used


def test_readme_lists_everything_and_notes_missing(report):
    readme = (report["out"] / "README.md").read_text()
    for t in ("paper_table", "paper_vs_measured", "ecdn_table1_standard", "efficiency", "bn_mode", "vs_reference",
              "ablation_group", "ablation_loss", "training_runs"):
        assert f"tables/{t}.tex" in readme, t
        for suffix in (".md", ".tex", ".csv"):
            assert (report["out"] / "tables" / f"{t}{suffix}").is_file()
    assert "tables/ablation_bn.tex" in readme  # the BN ablation shares the benchmark experiment
    for fig in ("psnr_vs_mult_adds_Set14_x4", "training_curves", "ablation_group", "ablation_loss"):
        assert f"figures/{fig}.png" in readme
        png = report["out"] / "figures" / f"{fig}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 300 * 1024
        assert (report["out"] / "figures" / f"{fig}.pdf").read_bytes()[:5] == b"%PDF-"


def test_crop_grid_from_artifacts(report):
    readme = (report["out"] / "README.md").read_text()
    png = report["out"] / "figures" / "crop_Set5_baby_x4_2_3_4_5.png"
    assert "figures/crop_Set5_baby_x4_2_3_4_5.png" in readme
    assert png.is_file() and png.stat().st_size < 300 * 1024
    # the other Set5 x4 runs have no crop artifact: named in the notes, not computed
    assert f"missing for bicubic (run {_short(report['ids']['bicubic'])})" in readme
    assert _short(report["ids"]["carn_m"]) + ")" not in readme.split("missing for", 1)[1].split("\n")[0]


def test_crop_psnr_is_measured_on_the_box(report):
    # the SR box is HR + 3 in R, G and B: Y moves by 3 * (65.481 + 128.553 + 24.966) / 255 = 3 * 219 / 255 everywhere
    expected = 20 * np.log10(255 / (3 * 219 / 255))
    readme = (report["out"] / "README.md").read_text()
    assert f"carn_m {expected:.2f} dB" in readme          # computed from the logged HR and SR images
    assert f"ecdn {ECDN_CROP_PSNR:.2f} dB" in readme        # as the run logged it, not recomputed
    assert "Computed by the report from the logged HR and SR images for carn_m (" in readme
    # a second box of the same image reads the same logged SR image again (not the HR image beside it)
    caption = next(line for line in readme.splitlines() if "`baby` x4, box top=3, left=4, 3x3" in line)
    assert f"carn_m {expected:.2f} dB" in caption


def test_crop_of_a_store_without_hr_images_says_so(report):
    """Runs from before the HR image was logged: the figure shows their SR crops without an HR panel or crop scores,
    and its caption says what the store lacks (nothing is read from the data store)."""
    readme = (report["out"] / "README.md").read_text()
    png = report["out"] / "figures" / "crop_Set5_baby_x2_2_3_4_5.png"
    assert png.is_file() and f"figures/{png.name}" in readme
    caption = next(line for line in readme.splitlines() if "`baby` x2" in line)
    assert "logged the SR images but no HR image (`crops/Set5/hr/baby_x2.png`)" in caption
    assert "the HR image with the box" not in caption and "Crop PSNR on Y" not in caption


@pytest.mark.slow
def test_deterministic_regeneration(report, tmp_path, monkeypatch):
    from srbench.report import build
    out = tmp_path / "again"
    build.generate(uri=report["uri"], out=out, n_resamples=2000, crops=CROPS)
    first = {p.relative_to(report["out"]): p.read_bytes() for p in report["out"].rglob("*") if p.is_file()}
    second = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert set(first) == set(second) and len(first) > 20
    for name in first:
        assert first[name] == second[name], name


@pytest.mark.slow
def test_stale_files_removed_and_missing_experiment(report, tmp_path, monkeypatch):
    """Only files an earlier report run wrote (its manifest) are removed; committed tables, a summary or anything else
    the report did not write in that folder stay, even when the store no longer has their data."""
    import shutil
    from srbench.core.errors import SrbenchError
    from srbench.report import build
    out = tmp_path / "copy"
    shutil.copytree(report["out"], out)
    (out / build.MANIFEST).unlink()            # as in a fresh clone: the committed files were not written here
    foreign = out / "tables" / "old_table.md"
    foreign.write_text("x")
    keep = out / "benchmark.md"
    keep.write_text("the runner's own file")
    ablation = sorted((out / "tables").glob("ablation_group*.md"))
    assert ablation
    monkeypatch.setattr(build, "ABLATIONS", ())   # a store without the ablations: their committed tables stay
    build.generate(uri=report["uri"], out=out, n_resamples=2000, crops=CROPS)
    assert foreign.exists() and keep.exists() and all(p.exists() for p in ablation)
    assert (out / "figures" / "crop_Set5_baby_x4_2_3_4_5.png").is_file()
    assert "ablation_group" not in (out / build.MANIFEST).read_text()
    # a file the report itself wrote into the folder and no longer writes is removed
    monkeypatch.undo()
    build.generate(uri=report["uri"], out=out, n_resamples=2000, crops=CROPS)
    written = (out / build.MANIFEST).read_text().splitlines()
    assert any(name.startswith("tables/ablation_group") for name in written)
    monkeypatch.setattr(build, "ABLATIONS", ())
    build.generate(uri=report["uri"], out=out, n_resamples=2000, crops=CROPS)
    assert not any(p.exists() for p in ablation) and foreign.exists() and keep.exists()
    # a missing benchmark experiment is a note when other experiments exist ...
    build.generate(uri=report["uri"], out=tmp_path / "o", experiment="nope", n_resamples=100)
    assert "Experiment `nope` does not exist" in (tmp_path / "o" / "README.md").read_text()
    # ... and an error naming what is there when nothing is
    for name, value in (("ABLATIONS", ()), ("TRAINING", "none1"), ("BN_ABLATION", "none2")):
        monkeypatch.setattr(build, name, value)
    with pytest.raises(SrbenchError, match="'nope2' not found.*experiments there: .*benchmark"):
        build.generate(uri=report["uri"], out=tmp_path / "o2", experiment="nope2")


def test_below_bicubic_explained_only_when_present():
    """ECDN-M x3 in eval mode below bicubic (the values of the issue: 28.08 against 30.40) gets a sentence with both
    numbers and the per-image-statistics score; a network above bicubic, or one without a batch-mode row, gets none."""
    import pandas as pd
    from srbench.report.caveats import below_bicubic

    def row(model, bn, psnr, scale=3, label=None):
        return {"model": model, "weights": None if model == "bicubic" else model, "group": None, "bn_mode": bn,
                "protocol": "standard", "dataset": "Set5", "scale": scale, "psnr": psnr, "label": label or model}

    frame = pd.DataFrame([row("bicubic", "eval", 30.40), row("ecdn_m", "eval", 28.08, label="ECDN-M"),
                          row("ecdn_m", "batch", 33.62, label="ECDN-M"), row("carn_m", "eval", 29.00),
                          row("ecdn", "eval", 33.0), row("ecdn", "batch", 33.1)])
    [sentence] = below_bicubic(frame, "standard")
    assert "Set5 x3" in sentence and "ECDN-M 28.08 dB (33.62 dB with per-image statistics)" in sentence
    assert "bicubic (30.40 dB)" in sentence and "models/bn.py" in sentence
    assert "carn_m" not in sentence and "ecdn " not in sentence   # no batch row / above bicubic
    assert below_bicubic(frame, "paper_gray") == []
    assert below_bicubic(frame[frame["model"] != "bicubic"], "standard") == []


def test_default_outputs_are_git_ignored():
    """`srbench report` and the benchmark summaries write into a folder git ignores, so running them never dirties the
    tracked tree; the report's manifest is ignored wherever it lies."""
    import shutil
    import subprocess
    from srbench.core.store import REPO_ROOT
    from srbench.report import LOCAL_OUT
    from srbench.report.build import MANIFEST
    if not shutil.which("git") or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in (f"{LOCAL_OUT}/README.md", f"{LOCAL_OUT}/tables/paper_table.md", f"{LOCAL_OUT}/quick.md",
                 f"reports/{MANIFEST}"):
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO_ROOT)
        assert done.returncode == 0, f"{path} is not git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", "reports/README.md"], cwd=REPO_ROOT).returncode == 1


def test_cli_parse_crop():
    from srbench.core.errors import SrbenchError
    from srbench.report.build import parse_crop
    assert parse_crop("Set5/baby@4:200,180,96,96") == {"dataset": "Set5", "image": "baby", "scale": 4,
                                                      "box": [200, 180, 96, 96]}
    with pytest.raises(SrbenchError):
        parse_crop("Set5/baby@5:1,2,3")


def test_figure_inputs_from_the_store(report, tmp_path, monkeypatch):
    """What build hands the figure functions: the crop tiles' whole-image values come from the cell's per-image
    CSV, and the bubble chart gets each row's weights and BN mode with the protocol's BN mode (eval)."""
    from srbench.report import build, collect
    seen = {}
    monkeypatch.setattr(build.figures, "crop_grid", lambda hr, box, tiles, **kw: seen.update(tiles=tiles) or [])
    monkeypatch.setattr(build.figures, "bubble_chart", lambda points, **kw: seen.update(points=points, **kw) or [])
    store = collect.Store(report["uri"])
    try:
        bench = collect.read_benchmark(store, "benchmark")
        rep = build.Report(out=tmp_path, uri=store.uri)
        build._crop_figure(rep, store, bench, "standard", {"dataset": "Set5", "image": "baby", "scale": 4,
                                                           "box": [2, 3, 4, 5]})
        assert build._bubble(rep, bench, "standard", "Set5", 4, "b")
    finally:
        store.close()
    tile = next(t for t in seen["tiles"] if t["label"] == "carn_m")
    assert tile["image_psnr"] == pytest.approx(CARN_M["Set5"][0])            # baby is the first Set5 image
    assert tile["image_ssim"] == pytest.approx(_ssim(CARN_M["Set5"])[0])
    assert tile["ssim"] is None                                               # a 4x5 box is smaller than the window
    assert seen["bn_mode"] == "eval" and seen["variants"] is False
    rows = {(p["weights"], p["bn_mode"]) for p in seen["points"] if not p["published"]}
    assert ("ecdn", "batch") in rows and ("carn_m", "eval") in rows
    assert all(p["source"] for p in seen["points"] if p["published"])


@pytest.mark.slow
def test_no_machine_paths_in_any_output(store, tmp_path, monkeypatch):
    """Rendered as if the fake store were the project's: the README names it relative to the project, and no file
    holds the project's (or this machine's) absolute path."""
    from srbench.core.store import REPO_ROOT, store_root
    from srbench.report import build, portable
    from srbench.report.summary import write_summary
    from srbench.track.benchmark import CellOutcome
    root = Path(store["tmp"])
    monkeypatch.setattr(portable, "REPO_ROOT", root)
    out = root / "reports"
    build.generate(uri=store["uri"], out=out, n_resamples=100)
    missing = CellOutcome("carn", 0, "-", "skipped", note=f"weights 'carn': {store_root() / 'weights' / 'carn.pth'} "
                                                            f"not found; checkout {root}")
    write_summary(None, [missing], out / "benchmark.md", experiment="benchmark", protocol="standard", device="cpu")
    readme = (out / "README.md").read_text()
    assert "from the MLflow store `sqlite:///mlflow.db`" in readme
    summary = (out / "benchmark.md").read_text()
    assert "weights/carn.pth not found; checkout ." in summary
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 20
    for p in files:
        data = p.read_bytes()
        for absolute in {str(root), str(REPO_ROOT), str(store_root()), str(Path.home())}:
            assert absolute.encode() not in data, (p.name, absolute)


def test_portable_uri():
    from srbench.core.store import REPO_ROOT
    from srbench.report.portable import portable_uri
    assert portable_uri(f"sqlite:///{REPO_ROOT / 'mlruns' / 'mlflow.db'}") == "sqlite:///mlruns/mlflow.db"
    assert portable_uri("sqlite:////elsewhere/x/other.db") == "a SQLite file outside the project (`other.db`)"
    assert portable_uri("http://user:secret@mlflow.example:5000") == "http://mlflow.example:5000"
