"""Shared fixtures: the data store (filled by `make data`), small datasets cut from Set5, private MLflow stores."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Derived files (ONNX exports, auto's runtime choices) in a folder of the test session, never the user's store
    cache (``$SRBENCH_CACHE``; subprocesses inherit it). A cache given from outside is kept."""
    if os.environ.get("SRBENCH_CACHE"):
        yield
        return
    os.environ["SRBENCH_CACHE"] = str(tmp_path_factory.mktemp("srbench-cache"))
    try:
        yield
    finally:
        os.environ.pop("SRBENCH_CACHE", None)


@pytest.fixture(scope="session")
def benchmark_root() -> Path:
    """The filled store's benchmark folder; tests needing it skip with a reason when `make data` has not run."""
    from srbench.core.store import benchmark_root

    root = benchmark_root()
    if not (root / "Set5" / "HR").is_dir():
        pytest.skip(f"benchmark data not in {root}: run `make data`")
    return root


@pytest.fixture()
def tiny_dataset(tmp_path: Path, benchmark_root: Path) -> Path:
    """A dataset folder (HR only, so LR is generated) of three 48x60 crops of Set5 images, one of them gray."""
    from srbench.data.images import read_image, write_image

    folder = tmp_path / "Tiny"
    for name in ("baby", "bird", "head"):
        hr = read_image(benchmark_root / "Set5" / "HR" / f"{name}.png")[100:148, 80:140]
        if name == "head":
            hr = np.round(hr.mean(axis=2)).astype(np.uint8)
        write_image(folder / "HR" / f"{name}.png", hr)
    return folder


@pytest.fixture()
def mlflow_uri(tmp_path: Path, monkeypatch) -> str:
    """A private SQLite MLflow store for the test (never the project's)."""
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    (tmp_path / "mlruns").mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    """A complete, empty SQLite store, made once per module (creating MLflow's schema takes seconds); tests copy it."""
    from srbench.track import tracking

    db = tmp_path_factory.mktemp("template") / "mlflow.db"
    tracking.client(f"sqlite:///{db}")
    return db


@pytest.fixture()
def store(tmp_path, template_db, monkeypatch) -> str:
    """A private copy of the template store (complete schema, no runs); its URI, also set as the default."""
    import shutil

    folder = tmp_path / "mlruns"
    folder.mkdir()
    shutil.copy(template_db, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


# The runtime tests (ONNX Runtime, OpenVINO, torch.compile) run last, and the interruption tests call the installed
# handler (deliver_signal, below) instead of raising a real signal: see deliver_signal for why.
_LAST = ("test_runtimes.py", "test_runtime_cells.py")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name in _LAST)  # stable: the order is otherwise unchanged


def deliver_signal(signum: int) -> None:
    """What the process does on receiving ``signum``, run synchronously: the Python handler installed for it.

    The interruption tests use this rather than ``signal.raise_signal``: in a long pytest process that has loaded
    ONNX Runtime, OpenVINO and torch.compile, a real signal raised late in the session was seen to crash the
    interpreter inside signal delivery (SIGSEGV under gdb; never in a benchmark process, where Ctrl-C on an OpenVINO
    cell was checked by hand). The handler is the code under test either way.
    """
    import signal

    handler = signal.getsignal(signum)
    if not callable(handler):
        raise AssertionError(f"no Python handler installed for signal {signum}")
    handler(signum, None)
