"""The challenge score (bench/eval/challenge_score.py) against hand-computed cases and the organisers' example."""

from __future__ import annotations

import math

import pytest

from srbench.core.errors import SrbenchError
from srbench.eval.challenge_score import FORMULAS, Figures, Gate, comparable, rank, score, score_label

F24 = FORMULAS["ntire2024"]


def test_reference_scores_e_squared():
    # The organisers' README: the reference (RLFN: 13.54 ms, 19.67 G, 0.317 M) scores 7.3891 on every term.
    ref = Figures(runtime_ms=13.54, flops_g=19.67, params_m=0.317)
    terms = score(ref, ref, F24)
    assert terms["runtime"] == terms["flops"] == terms["params"] == pytest.approx(7.3891, abs=5e-5)
    assert terms["score"] == pytest.approx(7.3891, abs=5e-5)


def test_hand_computed_entry():
    # half the reference's runtime, the same FLOPs, twice its params:
    # 0.7·e^1 + 0.15·e^2 + 0.15·e^4 = 1.902797 + 1.108358 + 8.189722 = 11.200878
    ref = Figures(runtime_ms=10.0, flops_g=20.0, params_m=0.3)
    entry = Figures(runtime_ms=5.0, flops_g=20.0, params_m=0.6)
    assert score(entry, ref, F24)["score"] == pytest.approx(11.200878, abs=1e-6)
    assert score(entry, ref, F24)["runtime"] == pytest.approx(math.e)


def test_not_computable_and_bad_reference():
    ref = Figures(1.0, 1.0, 1.0)
    with pytest.raises(SrbenchError, match="not computable.*EFDN"):
        score(ref, ref, FORMULAS["ntire2025"])
    with pytest.raises(SrbenchError, match="runtime is 0"):
        score(ref, Figures(0, 1.0, 1.0), F24)


def test_gate_comparable_rank_label():
    assert Gate(margin_db=0.1).threshold(27.0) == pytest.approx(26.9)
    assert Gate(threshold_db=26.90).threshold(30.0) == 26.90
    with pytest.raises(SrbenchError):
        Gate(margin_db=-1)
    a = {"device": "cpu", "runtime": "eager", "precision": "fp32", "threads": 2}
    assert comparable(a, dict(a)) == []
    assert comparable(a, {**a, "threads": 1, "runtime": "openvino"}) == ["runtime", "threads"]
    assert rank({"a": 8.0, "b": 7.0, "c": None, "d": 8.0}) == {"a": 2, "b": 1, "c": None, "d": 2}
    label = score_label(F24, {"device": "CPU", "runtime": "eager", "precision": "fp32", "threads": 2})
    assert label.startswith("score ntire2024 (CPU, eager fp32, 2 threads)") and "not comparable" in label


@pytest.mark.parametrize(("change", "message"), [
    ("runtime: auto", "one runtime"),
    ("reference: carn", "not an entry"),
    ("score: {formula: ntire2025}", "not computable"),
    ("measure: {latency: false}", "dataset_runs"),
    ("score: {formula: ntire2042}", "not known"),
])
def test_experiment_score_declarations_are_checked(tmp_path, change, message):
    from srbench.track.experiment import load_experiment

    lines = {"runtime": "runtime: eager", "reference": "reference: carn_m",
             "score": "score: {formula: ntire2024}", "measure": "measure: {dataset_runs: 5}"}
    key = change.split(":")[0]
    lines[key] = change
    path = tmp_path / "exp.yaml"
    path.write_text("name: t\nscales: [4]\ndatasets: [Set5]\nmodels: [{model: carn_m, weights: carn_m}, "
                    "{model: ecdn_m, weights: ecdn_m}]\n" + "\n".join(lines.values()) + "\n")
    with pytest.raises(SrbenchError, match=message):
        load_experiment(path)
    lines[key] = {"runtime": "runtime: eager", "reference": "reference: carn_m", "score": "score: {formula: ntire2024}",
                  "measure": "measure: {dataset_runs: 5}"}[key]
    path.write_text(path.read_text().replace(change, lines[key]))
    assert load_experiment(path).reference == "carn_m"
