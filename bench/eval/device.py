"""Device selection: ``auto`` picks CUDA, then MPS, then CPU; an unavailable explicit choice is a clear error."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from srbench.core.errors import SrbenchError


def resolve_device(spec: str = "auto") -> torch.device:
    """Turn ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps`` into an available ``torch.device``."""
    spec = (spec or "auto").lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError as exc:
        raise SrbenchError(f"unknown device {spec!r}; use auto, cpu, cuda, cuda:N or mps") from exc
    if device.type not in ("cpu", "cuda", "mps"):  # meta (no data), xpu, hpu...: nothing srbench can measure on
        raise SrbenchError(f"device {spec!r} is not a compute device srbench supports; use auto, cpu, cuda, cuda:N "
                           "or mps")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SrbenchError(f"device {spec!r} requested but this torch ({torch.__version__}) sees no CUDA GPU; "
                           "use --device cpu or auto")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise SrbenchError(f"device {spec!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SrbenchError(f"device {spec!r} requested but MPS is not available; use --device cpu or auto")
    return device


#: Linux's CPU description; a module constant so that tests can point it at another file.
CPUINFO = Path("/proc/cpuinfo")


def cpu_model() -> str:
    """The CPU's model name: the first ``model name`` of /proc/cpuinfo (Linux x86 and most others), else
    ``platform.processor()``, else the machine type (``x86_64``, ``arm64``)."""
    try:
        for line in CPUINFO.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def describe_device(device: torch.device) -> str:
    """A human-readable device name for logs, tables and the cell key: the GPU model, or the CPU model with the
    number of threads torch uses (two different CPUs, or one CPU at two thread counts, never share latencies)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU {cpu_model()} ({torch.get_num_threads()} threads)"
