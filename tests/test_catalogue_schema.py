"""Every catalogue record's complexity metadata against its rebuilt network and the published numbers (issue 15), in
the spirit of torchvision's ``test_schema_meta_validation``.

For each record: build ``create_model(arch, **build)``, recount total parameters, effective parameters (all heads)
and Mult-Adds at a 720x1280 output for each scale, and compare them with the record's fields and with the values
typed in below from their sources (not from the catalogue):

* CARN paper (Ahn et al., ECCV 2018, "Quantitative results"): 1,592K / 412K parameters, printed to the thousand;
  Mult-Adds 222.8G / 118.8G / 90.9G (CARN) and 91.2G / 46.1G / 32.5G (CARN-M) at x2 / x3 / x4, to 0.05 G.
* ECDN report, Table 1: exact counts 1,591,963 (CARN), 414,811 (CARN-M), 694,555 (ECDN) and 396,955 (ECDN-M, the
  parameters used: its checkpoint holds 417,499, of which c4's 64 * 320 + 64 = 20,544 are never called).

The field's released files (single-scale records, :mod:`srbench.models.field`) are checked the same way at their one
scale, against:

* IMDN paper (Hui et al., ACM MM 2019, Table 3): 694K / 703K / 715K parameters and Mult-Adds 158.8G / 71.5G / 40.9G at
  x2 / x3 / x4 (720p output). At x3 the count here is 71.45G: like the CARN paper, the IMDN paper rounds the x3 LR
  size up (240x427 gives 71.50G, the exact 720p/3 area 71.45G), so x3 is compared to 0.06 G.
* NTIRE 2022 ESR results table (Li et al., CVPRW 2022; figs/results.png of ofsoundof/NTIRE2022_ESR@e95ba4a4),
  #Params [M] to three decimals: RFDN AIM2020 Winner 0.433, IMDN_baseline 0.894, ByteESR (RLFN) 0.317, NJU_Jet
  (FMEN) 0.341, XPixel (BSRN) 0.156.
* NTIRE 2024 ESR report (arXiv 2404.10343), Table 1, XiaomiMM (SPAN): 0.151 M, as quoted by secondary sources.

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

RECORDS = sorted(n for n in CATALOGUE if CATALOGUE[n].scale is None)  # srbench's own, multi-scale
FIELD = sorted(n for n in CATALOGUE if CATALOGUE[n].scale is not None)  # the field's, one file per scale
#: parameter counts as printed (see the module docstring), to the thousand
PRINTED_PARAMS = {"imdn_x2": 694_000, "imdn_x3": 703_000, "imdn_x4": 715_000, "rfdn_x4": 433_000,
                  "imdn_ntire_x4": 894_000, "rlfn_x4": 317_000, "fmen_x4": 341_000, "bsrn_x4": 156_000,
                  "span_x4": 151_000}
UNPRINTED = {"safmn_x4"}  # no primary source of its printed count was read: the record carries none
PRINTED_MULT_ADDS = {"imdn_x2": (158.8, 0.05), "imdn_x3": (71.5, 0.06), "imdn_x4": (40.9, 0.05)}


@pytest.fixture(scope="module")
def counted() -> dict[str, dict]:
    """Each record's network rebuilt from its build arguments, counted once (a few seconds for all records)."""
    out = {}
    for name, record in CATALOGUE.items():
        model = create_model(record.arch, **record.build)
        scales = (record.scale,) if record.scale is not None else record.build["scales"]
        out[name] = {"params": count_params(model), "params_effective": count_effective_params(model),
                     "mult_adds_g": {s: mult_adds(model, s, OUT_HW) / 1e9 for s in scales}}
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


@pytest.mark.parametrize("name", FIELD)
def test_field_record_matches_the_rebuilt_network(name, counted):
    record, got = CATALOGUE[name], counted[name]
    assert name == f"{record.arch}_x{record.scale}" and set(record.mult_adds_g) == {record.scale}
    assert got["params"] == record.params and got["params_effective"] == record.params_effective
    assert abs(got["mult_adds_g"][record.scale] - record.mult_adds_g[record.scale]) <= 0.05


@pytest.mark.parametrize("name", FIELD)
def test_field_params_equal_the_printed_counts(name, counted):
    if name in UNPRINTED:
        assert "params" not in CATALOGUE[name].metrics
        return
    # printed to the thousand (K, or M to three decimals): the exact count rounds to it
    assert abs(counted[name]["params"] - PRINTED_PARAMS[name]) < 500, name
    metrics = CATALOGUE[name].metrics
    assert metrics["params"] == PRINTED_PARAMS[name] and metrics["params_source"]


@pytest.mark.parametrize("name", sorted(PRINTED_MULT_ADDS))
def test_field_mult_adds_equal_the_printed_ones(name, counted):
    printed, tolerance = PRINTED_MULT_ADDS[name]
    scale = CATALOGUE[name].scale
    assert abs(counted[name]["mult_adds_g"][scale] - printed) <= tolerance
    assert CATALOGUE[name].metrics["mult_adds"] == {scale: printed}


def test_models_command_lists_the_field(capsys):
    from srbench.cli import main

    assert main(["models", "--json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    imdn = rows["imdn"]
    assert imdn["kind"] == "field" and imdn["scales"] == [2, 3, 4] and imdn["input_range"] == 1.0
    assert [imdn[f"params_x{s}"] for s in (2, 3, 4)] == [694_404, 703_059, 715_176]
    assert [w["name"] for w in imdn["weights"]] == ["imdn_x2", "imdn_x3", "imdn_x4"]
    assert imdn["weights"][0]["commit"].startswith("8f158e6a") and imdn["weights"][0]["path"].endswith("IMDN_x2.pth")
    rfdn = rows["rfdn"]
    assert rfdn["scales"] == [4] and rfdn["input_range"] == 255.0 and rfdn["weights"][0]["licence"] == "MIT"
    assert rfdn["params"] == 433_448 and abs(rfdn["mult_adds_g_x4"] - 23.7) <= 0.05
    assert "mult_adds_g_x2" not in rfdn
    assert rows["carn_m"]["kind"] == "srbench" and rows["carn_m"]["input_range"] == 1.0
    assert main(["models"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("| imdn "))
    assert "694,404 / 703,059 / 715,176" in line and "[0, 1]" in line and "imdn_x2, imdn_x3, imdn_x4" in line
