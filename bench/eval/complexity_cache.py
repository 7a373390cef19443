"""A network's complexity figures kept on disk by its structure, so that the benchmark process need not count them.

Counting (:mod:`srbench.models.complexity`, :mod:`srbench.models.challenge_counts`) runs the network on torch's
``meta`` device, and torch's meta kernels import ``torch._dynamo`` on their first use: 1.4 s, and 67 MiB that stay
resident for the rest of the process (docs/memory.md), under the benchmark's largest allocation, which comes later
(CARN-M x2's ONNX Runtime arena). The figures are functions of the architecture alone (the meta copy holds no values:
not the weights, not the BN mode), so they are kept in ``<cache>/complexity/<key>.json``, named by everything that
decides them: the source of the modules the network's classes come from and of the counting code, its module tree
(``repr``), the names and shapes of its parameters and buffers, its scales, the cell's scale, output size and profile
input, and torch's version. On a fresh store the benchmark's runtime probe, which runs in a child process anyway
(:mod:`srbench.runtime_choice.apart`), counts them there; the benchmark then reads them. Read back, they are the very
numbers counted (JSON keeps ints and floats exactly; ``tests/test_complexity_cache.py``). An unreadable file is
counted again and replaced; deleting the folder only costs time.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from srbench.core.atomic import write_bytes_atomic
from srbench.core.code_identity import modules_digest
from srbench.core.store import cache_root
from srbench.eval.runtimes.export import class_modules

#: the modules whose code computes the figures (their source is part of every key)
COUNTING_MODULES = ("srbench.models.complexity", "srbench.models.challenge_counts", "srbench.models.fvcore_count",
                    "srbench.eval.cell", __name__)


def structure_key(model: nn.Module, scale: int, out_hw: tuple[int, int], profile_in: tuple[int, int, int]) -> str:
    """The name of ``model``'s figures at ``scale`` (32 hex): what decides them, hashed (see the module docstring)."""
    code = modules_digest([*class_modules(model), *(importlib.import_module(name) for name in COUNTING_MODULES)],
                          f"torch={torch.__version__}")
    identity = {"code": code, "tree": repr(model),
                "tensors": [(name, list(t.shape)) for name, t in (*model.named_parameters(), *model.named_buffers())],
                "scales": [int(s) for s in getattr(model, "scales", ()) or ()], "scale": int(scale),
                "out_hw": [int(v) for v in out_hw], "profile_in": [int(v) for v in profile_in]}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def figures_file(key: str) -> Path:
    return cache_root() / "complexity" / f"{key}.json"


def _read(path: Path) -> dict | None:
    try:
        figures = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(figures, dict) or not all(isinstance(k, str) and isinstance(v, (int, float))
                                                and not isinstance(v, bool) for k, v in figures.items()):
        return None
    return figures


def counted(model: nn.Module, scale: int, out_hw: tuple[int, int], profile_in: tuple[int, int, int],
            count: Callable[[], dict]) -> dict:
    """The figures of ``model`` at ``scale``: from the cache, or ``count()`` now and kept (best effort: a read-only
    cache is just not written)."""
    path = figures_file(structure_key(model, scale, out_hw, profile_in))
    figures = _read(path) if path.is_file() else None
    if figures is None:
        figures = count()
        try:
            write_bytes_atomic(path, json.dumps(figures, sort_keys=True).encode())
        except OSError:
            pass
    return dict(figures)

