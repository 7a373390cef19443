"""Where srbench keeps its data: one git-ignored store, and the optional local mirror it is filled from.

Two homes. In a checkout (the repository, or an editable install of it) everything stays in the checkout: the store
``<repo>/data/store``, MLflow's default store ``<repo>/mlruns``, the mirror ``../shared``. Installed from a wheel,
srbench keeps its data under one user folder, ``$SRBENCH_HOME`` (default ``~/.srbench``): the store
``<home>/store`` and MLflow's default store ``<home>/mlruns``; the mirror is only what ``$SRBENCH_MIRROR`` names.
``$SRBENCH_STORE`` and ``$SRBENCH_CACHE`` (and ``$MLFLOW_TRACKING_URI``) override either.

Store layout (``$SRBENCH_STORE``, default above)::

    benchmark/<Set>/HR/<name>.png
    benchmark/<Set>/LR_bicubic/X<s>/<name>x<s>.png     (shipped, or generated and cached)
    train/T91/<name>.png
    weights/<file>.pth
    cache/<kind>/...                                   (derived files, named by what they derive from: h5,
                                                        runtimes/ ONNX graphs and auto's runtime choices)

The mirror (``$SRBENCH_MIRROR``, default ``../shared`` beside the checkout when it exists) has the same
``sr-data/`` and ``weights/`` folders as the public sources listed in their ``MANIFEST.tsv`` files.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
#: True when running from the repository (or an editable install); False when installed from a wheel, where
#: REPO_ROOT is the installed package folder.
IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "core" / "store.py").is_file()


def srbench_home() -> Path:
    """The user folder of an installed srbench: ``$SRBENCH_HOME``, default ``~/.srbench``."""
    return Path(os.environ.get("SRBENCH_HOME") or Path.home() / ".srbench").expanduser().resolve()


def store_root() -> Path:
    """The data store; created on demand by ``srbench data``."""
    default = REPO_ROOT / "data" / "store" if IN_CHECKOUT else srbench_home() / "store"
    return Path(os.environ.get("SRBENCH_STORE") or default).expanduser().resolve()


def mlruns_dir() -> Path:
    """The folder of the default MLflow store (``mlflow.db`` and ``artifacts/``), when no tracking URI is given."""
    return REPO_ROOT / "mlruns" if IN_CHECKOUT else srbench_home() / "mlruns"


def benchmark_root() -> Path:
    """Folder holding the benchmark sets in the ``<Set>/HR``, ``<Set>/LR_bicubic/X<s>`` layout."""
    return store_root() / "benchmark"


def train_root() -> Path:
    """Folder holding training image folders (T91) and prepared h5 files."""
    return store_root() / "train"


def weights_dir() -> Path:
    """Folder holding the released checkpoints."""
    return store_root() / "weights"


def cache_root() -> Path:
    """Folder of derived files (ONNX exports, runtime choices, ...): each kind in its own sub-folder, each file named
    by the content it derives from, so deleting any of it only costs recomputation. ``$SRBENCH_CACHE`` moves it
    (e.g. to a node's local disk when the store is on a shared file system), default ``<store>/cache``."""
    env = os.environ.get("SRBENCH_CACHE")
    return Path(env).resolve() if env else store_root() / "cache"


def mirror_root() -> Path | None:
    """The local mirror to copy from, or None when there is none."""
    env = os.environ.get("SRBENCH_MIRROR")
    if env:
        return Path(env).resolve()
    default = REPO_ROOT.parent / "shared"
    return default.resolve() if IN_CHECKOUT and default.is_dir() else None


def experiments_dir() -> Path:
    """The default experiment files (``benchmark.yaml``, ``quick.yaml``, ``train/*.yaml``, ...): the checkout's
    ``experiments/``, installed as the package ``srbench.experiments`` (the same files, by pyproject's package-dir)."""
    return REPO_ROOT / "experiments"


def experiment_path(path: str | os.PathLike) -> Path:
    """``path`` as given when it exists; else, for a relative ``experiments/...`` path (the defaults' spelling: the
    commands' defaults, ablation bases), the shipped file of that name, so that the defaults work from any folder."""
    given = Path(path)
    if given.exists() or given.is_absolute() or given.parts[:1] != ("experiments",):
        return given
    shipped = experiments_dir().joinpath(*given.parts[1:])
    return shipped if shipped.is_file() else given
