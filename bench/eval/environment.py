"""The software a measurement ran on, as part of every cell's identity.

The cell key hashes the measurement code (:func:`srbench.track.cells.code_version`) and the device
(:func:`srbench.eval.device.describe_device`), but the numbers also depend on the libraries under that code: a new
torch can pick other convolution kernels (latency, memory, float rounding), a new numpy or Pillow can decode or round
differently. :func:`measurement_environment` names their versions, so a cell measured under other libraries is
measured again, and the benchmark logs them as ``srbench.env.<name>`` tags.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util

import numpy
import PIL
import torch

#: inference runtimes that may run a measured network, by import name -> distributions that provide it
RUNTIMES: dict[str, tuple[str, ...]] = {
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino", "onnxruntime-directml"),
    "openvino": ("openvino",),
}


def _runtime_version(module: str, distributions: tuple[str, ...]) -> str | None:
    """The installed version of an optional runtime, without importing it (openvino takes seconds); None if absent."""
    if importlib.util.find_spec(module) is None:
        return None
    for dist in distributions:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def measurement_environment() -> dict[str, str]:
    """Versions of the libraries a measurement depends on: torch, numpy, Pillow (the loaded modules' own
    ``__version__``), and each runtime of :data:`RUNTIMES` that is importable."""
    env = {"torch": torch.__version__, "numpy": numpy.__version__, "pillow": PIL.__version__}
    for module, distributions in RUNTIMES.items():
        version = _runtime_version(module, distributions)
        if version is not None:
            env[module] = version
    return env
