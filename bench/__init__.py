"""srbench: an experiment-tracking benchmark harness for lightweight single-image super-resolution.

The public API (``srbench.evaluate``, ``score``, ``complexity``, ``load``, ``log_validation`` and their result
types; docs/api.md) lives in :mod:`srbench.api` and is re-exported here on first use, so that importing any
sub-package (``srbench.core``, the CLI) does not import torch and MLflow for it.

The folder ``bench/`` installs as the package ``srbench``; ``core/``, ``models/`` and ``data/`` install as
``srbench.core``, ``srbench.models`` and ``srbench.data`` (see pyproject.toml). Sub-packages by job:
``eval`` (measurement), ``track`` (MLflow, runner), ``api`` (the public functions), ``train`` (trainer, ablations),
``report`` (tables, figures), ``commands`` (one module per CLI command) and ``cli``.
"""

from typing import TYPE_CHECKING

__all__ = ["PRESETS", "ComplexityProfile", "EvaluationResult", "ImageScore", "Protocol", "complexity", "evaluate",
           "get_protocol", "load", "log_validation", "score"]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports srbench.api on first use
    from srbench.api import (PRESETS, ComplexityProfile, EvaluationResult, ImageScore, Protocol,  # noqa: F401
                             complexity, evaluate, get_protocol, load, log_validation, score)


def __getattr__(name: str):
    if name in __all__:
        from srbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'srbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
