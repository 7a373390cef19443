"""Device selection: ``auto`` picks CUDA, then MPS, then CPU; an unavailable explicit choice is a clear error."""

from __future__ import annotations

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


def describe_device(device: torch.device) -> str:
    """A human-readable device name for logs and tables (GPU model, or CPU with its thread count)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    import platform
    return f"CPU {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"
