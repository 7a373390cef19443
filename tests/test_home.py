"""Where an installed srbench keeps its data (SRBENCH_HOME) and how the shipped experiment files are found."""

from __future__ import annotations

from pathlib import Path

from srbench.core import store
from srbench.core.strict import load_yaml


def test_installed_layout_lives_under_srbench_home(tmp_path, monkeypatch):
    for var in ("SRBENCH_STORE", "SRBENCH_CACHE", "SRBENCH_MIRROR", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(store, "IN_CHECKOUT", False)
    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    assert store.store_root() == tmp_path / "home" / "store"
    assert store.cache_root() == tmp_path / "home" / "store" / "cache"
    assert store.mlruns_dir() == tmp_path / "home" / "mlruns"
    assert store.mirror_root() is None  # only $SRBENCH_MIRROR names one outside a checkout
    from srbench.track.tracking import tracking_uri
    assert tracking_uri() == f"sqlite:///{tmp_path / 'home' / 'mlruns' / 'mlflow.db'}"
    monkeypatch.delenv("SRBENCH_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert store.srbench_home() == tmp_path / "user" / ".srbench"
    monkeypatch.setenv("SRBENCH_STORE", str(tmp_path / "elsewhere"))
    assert store.store_root() == tmp_path / "elsewhere"


def test_checkout_layout_is_unchanged(monkeypatch):
    monkeypatch.delenv("SRBENCH_STORE", raising=False)
    monkeypatch.setenv("SRBENCH_HOME", "/nonexistent-home")
    assert store.IN_CHECKOUT
    assert store.store_root() == (store.REPO_ROOT / "data" / "store").resolve()
    assert store.mlruns_dir() == store.REPO_ROOT / "mlruns"


def test_shipped_experiments_are_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert store.experiment_path("experiments/benchmark.yaml") == store.REPO_ROOT / "experiments" / "benchmark.yaml"
    assert load_yaml("experiments/train/smoke.yaml")  # recipes and ablation bases too
    assert store.experiment_path("experiments/none.yaml") == Path("experiments/none.yaml")  # its error says so
    own = tmp_path / "experiments" / "benchmark.yaml"  # a file of that name here wins
    own.parent.mkdir()
    own.write_text("name: mine\n")
    assert store.experiment_path("experiments/benchmark.yaml") == Path("experiments/benchmark.yaml")
    assert load_yaml("experiments/benchmark.yaml") == {"name": "mine"}
