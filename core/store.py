"""Where srbench keeps its data: one git-ignored store, and the optional local mirror it is filled from.

Store layout (``$SRBENCH_STORE``, default ``<repo>/data/store``)::

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


def store_root() -> Path:
    """The data store; created on demand by ``srbench data``."""
    return Path(os.environ.get("SRBENCH_STORE", REPO_ROOT / "data" / "store")).resolve()


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
    return default.resolve() if default.is_dir() else None
