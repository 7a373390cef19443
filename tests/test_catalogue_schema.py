"""Every catalogue record's complexity metadata against its rebuilt network and the published numbers (issue 15), in
the spirit of torchvision's ``test_schema_meta_validation``.

For each record: build ``create_model(arch, **build)``, recount total parameters, effective parameters (all heads)
and Mult-Adds at a 720x1280 output for each scale, and compare them with the record's fields and with the values
typed in below from their sources (not from the catalogue):

* CARN paper (Ahn et al., ECCV 2018, "Quantitative results"): 1,592K / 412K parameters, printed to the thousand;
  Mult-Adds 222.8G / 118.8G / 90.9G (CARN) and 91.2G / 46.1G / 32.5G (CARN-M) at x2 / x3 / x4, to 0.05 G.
* ECDN report, Table 1: exact counts 1,591,963 (CARN), 414,811 (CARN-M), 694,555 (ECDN) and 396,955 (ECDN-M, the
  parameters used: its checkpoint holds 417,499, of which c4's 64 * 320 + 64 = 20,544 are never called).

The counting mechanics themselves (meta-device Mult-Adds equal a real forward count, bicubic costs nothing, frozen
mean shifts) are in ``tests/test_complexity.py``.
"""

from __future__ import annotations

import json

import pytest
import torch

from srbench.models import create_model
from srbench.models.complexity import count_effective_params, count_params, mult_adds
from srbench.models.weights import CATALOGUE

OUT_HW = (720, 1280)
SCALES = (2, 3, 4)

CARN_PAPER_PARAMS_K = {"carn": 1_592, "carn_m": 412}
CARN_PAPER_MULT_ADDS = {"carn": {2: 222.8, 3: 118.8, 4: 90.9}, "carn_m": {2: 91.2, 3: 46.1, 4: 32.5}}
ECDN_REPORT_PARAMS = {"carn": 1_591_963, "carn_m": 414_811, "ecdn": 694_555, "ecdn_m": 396_955}  # used parameters
TOTAL_PARAMS = {"carn": 1_591_963, "carn_m": 414_811, "ecdn": 694_555, "ecdn_m": 417_499}  # in the checkpoints

RECORDS = sorted(CATALOGUE)


@pytest.fixture(scope="module")
def counted() -> dict[str, dict]:
    """Each record's network rebuilt from its build arguments, counted once (a few seconds for all records)."""
    out = {}
    for name, record in CATALOGUE.items():
        model = create_model(record.arch, **record.build)
        out[name] = {"params": count_params(model), "params_effective": count_effective_params(model),
                     "mult_adds_g": {s: mult_adds(model, s, OUT_HW) / 1e9 for s in record.build["scales"]}}
    return out


@pytest.mark.parametrize("name", RECORDS)
def test_record_fields(name):
    record = CATALOGUE[name]
    assert record.name == name and record.filename == f"{name}.pth"
    assert record.arch in TOTAL_PARAMS
    assert tuple(record.build["scales"]) == SCALES and set(record.mult_adds_g) == set(SCALES)
    assert record.sha256 or record.git_blob_sha1
    if record.metrics:
        assert record.metrics["source"]
        # one definition per key: "params" is a total (CARN paper), "params_effective" the used ones (ECDN report)
        assert ("params" in record.metrics) != ("params_effective" in record.metrics)


@pytest.mark.parametrize("name", RECORDS)
def test_metadata_matches_the_rebuilt_network(name, counted):
    record, got = CATALOGUE[name], counted[name]
    assert got["params"] == record.params
    assert got["params_effective"] == record.params_effective
    for s in SCALES:
        assert abs(got["mult_adds_g"][s] - record.mult_adds_g[s]) <= 0.05, (name, s)


@pytest.mark.parametrize("name", RECORDS)
def test_ecdn_report_counts(name, counted):
    arch = CATALOGUE[name].arch
    assert counted[name]["params_effective"] == ECDN_REPORT_PARAMS[arch]
    assert counted[name]["params"] == TOTAL_PARAMS[arch]
    if "params_effective" in CATALOGUE[name].metrics:
        assert CATALOGUE[name].metrics["params_effective"] == ECDN_REPORT_PARAMS[arch]


def test_ecdn_m_effective_is_total_minus_the_unused_c4(counted):
    assert TOTAL_PARAMS["ecdn_m"] - (64 * 320 + 64) == counted["ecdn_m"]["params_effective"] == 396_955


@pytest.mark.parametrize("name", [n for n in RECORDS if CATALOGUE[n].arch in CARN_PAPER_MULT_ADDS])
def test_carn_paper_values(name, counted):
    arch = CATALOGUE[name].arch
    for s in SCALES:
        assert abs(counted[name]["mult_adds_g"][s] - CARN_PAPER_MULT_ADDS[arch][s]) <= 0.05, (name, s)
    metrics = CATALOGUE[name].metrics
    if metrics:  # the records that carry the paper's row
        assert metrics["params"] == CARN_PAPER_PARAMS_K[arch] * 1000
        assert metrics["mult_adds"] == CARN_PAPER_MULT_ADDS[arch]
    total_k = round(counted[name]["params"] / 1000)
    if arch == "carn":
        assert total_k == CARN_PAPER_PARAMS_K["carn"]
    else:
        # The paper prints 412K for CARN-M; the released file (and the ECDN report) hold 414,811, i.e. 415K. Kept
        # visible rather than hidden: the difference is 0.7%, and the paper's row stays labelled as published.
        assert total_k == 415 and abs(total_k - CARN_PAPER_PARAMS_K["carn_m"]) / CARN_PAPER_PARAMS_K["carn_m"] < 0.01


@pytest.mark.slow
def test_models_command_uses_the_same_definitions(capsys):
    from srbench.cli import main

    assert main(["models", "--json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    for arch in ECDN_REPORT_PARAMS:
        row = rows[arch]
        assert row["params"] == TOTAL_PARAMS[arch] and row["params_effective"] == ECDN_REPORT_PARAMS[arch]
        assert row["measure_out"] == "720x1280"
        for s in SCALES:
            record = next(r for r in CATALOGUE.values() if r.arch == arch)
            assert abs(row[f"mult_adds_g_x{s}"] - record.mult_adds_g[s]) <= 0.05
    assert rows["ecdn_m"]["params_x4"] == 276_315  # the x4 forward pass alone: labelled with its scale
    assert rows["bicubic"]["params"] == rows["bicubic"]["params_effective"] == 0
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    header = text.splitlines()[0]
    for label in ("params (total)", "params (effective, all heads)", "Mult-Adds x2 (G, 720x1280 out)",
                  "Mult-Adds x4 (G, 720x1280 out)"):
        assert label in header
    ecdn_m = next(line for line in text.splitlines() if line.startswith("| ecdn_m "))
    assert "417,499" in ecdn_m and "396,955" in ecdn_m and "44.8" in ecdn_m


@pytest.mark.slow
def test_benchmark_logs_the_same_figures_as_the_models_command():
    # what a cell run logs (srbench.eval.cell.measure_cost), which the efficiency table shows, at every scale
    from srbench.commands.models import model_rows
    from srbench.eval.cell import CostSettings, measure_cost

    rows = {r["model"]: r for r in model_rows()}
    for arch in ECDN_REPORT_PARAMS:
        model = create_model(arch)
        for s in SCALES:
            cost = measure_cost(model, s, torch.device("cpu"), CostSettings(latency=False, memory=False))
            assert cost["params"] == rows[arch]["params"]
            assert cost["params_effective"] == rows[arch]["params_effective"] == ECDN_REPORT_PARAMS[arch]
            assert cost["mult_adds_g"] == pytest.approx(rows[arch][f"mult_adds_g_x{s}"], abs=1e-4)
