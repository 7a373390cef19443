"""Experiment files are validated strictly: unknown keys, bad values and missing files are one-line errors."""

from pathlib import Path

import pytest

from srbench.core.errors import SrbenchError
from srbench.track.experiment import load_experiment, narrow

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "experiments").glob("*.yaml")))
def test_shipped_experiments_load(name):
    from srbench.track.explain_file import load_explain_file
    from srbench.train.ablate import is_sweep, load_ablation, points

    path = REPO / "experiments" / name
    if is_sweep(path):
        assert points(load_ablation(path))
    elif name == "explain.yaml":  # srbench explain's own file format (pairs:, optional entries)
        assert load_explain_file(path)[1]
    else:
        assert load_experiment(path).models


def _write(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_misspelt_top_level_key_names_key_file_and_suggestion(tmp_path):
    path = _write(tmp_path, "name: x\ndatsets: [Set5]\nmodels: [{model: bicubic}]\n")
    with pytest.raises(SrbenchError) as err:
        load_experiment(path)
    msg = str(err.value)
    assert "datsets" in msg and str(path) in msg and "datasets" in msg and "\n" not in msg


def test_misspelt_model_key(tmp_path):
    path = _write(tmp_path, "name: x\nmodels: [{model: ecdn, wieghts: ecdn}]\n")
    with pytest.raises(SrbenchError, match=r"models\[0\].*'wieghts'.*did you mean 'weights'"):
        load_experiment(path)


def test_wrong_types_and_values(tmp_path):
    with pytest.raises(SrbenchError, match="scales"):
        load_experiment(_write(tmp_path, "name: x\nscales: [two]\nmodels: [{model: bicubic}]\n"))
    with pytest.raises(SrbenchError, match="scale 5"):
        load_experiment(_write(tmp_path, "name: x\nscales: [5]\nmodels: [{model: bicubic}]\n"))
    with pytest.raises(SrbenchError, match="protocol 'standart'.*did you mean 'standard'"):
        load_experiment(_write(tmp_path, "name: x\nprotocol: standart\nmodels: [{model: bicubic}]\n"))
    with pytest.raises(SrbenchError, match="bn_mode 'train'"):
        load_experiment(_write(tmp_path, "name: x\nmodels: [{model: ecdn, bn_modes: [train]}]\n"))
    with pytest.raises(SrbenchError, match="missing required key.*models"):
        load_experiment(_write(tmp_path, "name: x\n"))


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(SrbenchError, match="not valid YAML at line 3"):
        load_experiment(_write(tmp_path, "name: x\nmodels: [\n"))
    with pytest.raises(SrbenchError, match="does not exist"):
        load_experiment(tmp_path / "nope.yaml")


def test_narrow_overrides():
    exp = load_experiment(REPO / "experiments" / "benchmark.yaml")
    small = narrow(exp, models=["ecdn_m_half"], datasets=["Set5"], scales=[4], device="cpu")
    assert {e.weights for e in small.models} == {"ecdn_m_half"} and len(small.models) == 2  # standard + ecdn_report
    assert small.models[0].datasets == ["Set5"] and small.scales == [4] and small.device == "cpu"
    with pytest.raises(SrbenchError, match="'ecdm' is not in the experiment.*did you mean"):
        narrow(exp, models=["ecdm"])
