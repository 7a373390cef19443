"""The runtimes by name, and the packages each needs: their versions (for keys and logs) and whether they import."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata

from srbench.core.errors import SrbenchError
from srbench.core.names import suggest
from srbench.eval.runtimes.runner import first_line

RUNTIMES = ("eager", "eager_nchw", "compile", "onnxruntime", "openvino")
RUNTIME_CHOICES = ("auto", *RUNTIMES)
#: Distributions whose versions identify each runtime (for cache keys and logs).
PACKAGES = {"eager": ("torch",), "eager_nchw": ("torch",), "compile": ("torch",),
            "onnxruntime": ("torch", "onnx", "onnxruntime"),
            "openvino": ("torch", "onnx", "openvino")}


def package_versions(runtime: str) -> dict[str, str | None]:
    """Installed versions of the distributions ``runtime`` uses (None where not installed); no import needed."""
    versions: dict[str, str | None] = {}
    for dist in PACKAGES[runtime]:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


@functools.cache
def import_failure(module: str) -> str | None:
    """Why ``module`` does not import (one line), or None when it does."""
    try:
        importlib.import_module(module)
    except Exception as exc:  # ImportError, or a broken install raising anything at import time
        return f"{module} does not import ({first_line(exc)})"
    return None


def runtime_unavailable_reason(runtime: str) -> str | None:
    """Why ``runtime``'s packages are unusable, or None when all of them import."""
    if runtime not in RUNTIMES:
        raise SrbenchError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIME_CHOICES)}")
    for module in PACKAGES[runtime]:
        reason = import_failure(module)
        if reason:
            return reason
    return None


def available_runtimes() -> list[str]:
    """The runtimes whose packages import (eager and compile always: they need only torch)."""
    return [r for r in RUNTIMES if runtime_unavailable_reason(r) is None]


def check_runtime_name(name: str, where: str = "runtime") -> str:
    """``name`` when it is ``auto`` or a runtime, else a one-line error with the closest name."""
    if name not in RUNTIME_CHOICES:
        raise SrbenchError(f"{where}: unknown runtime {name!r}{suggest(str(name), RUNTIME_CHOICES)}; "
                           f"known: {', '.join(RUNTIME_CHOICES)}")
    return name
