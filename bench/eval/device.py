"""Device selection: ``auto`` picks CUDA, then MPS, then CPU; an unavailable explicit choice is a clear error.

A CUDA device is always resolved to an explicit index (``cuda:N``) and made the current CUDA device: code that uses
the *current* device (CUDA streams and events, ``torch.cuda.max_memory_allocated()`` without an argument,
``torch.cuda.is_bf16_supported()``) then acts on the device being measured, not on GPU 0 while the work runs on
GPU N. ``auto`` takes the GPU of the process: ``LOCAL_RANK`` under ``torchrun``, else the current device (GPU 0
unless ``CUDA_VISIBLE_DEVICES`` or ``torch.cuda.set_device`` chose another). To spread shards of a benchmark over
several GPUs, give each its own ``--device cuda:N`` (or ``CUDA_VISIBLE_DEVICES``).

TF32 (:func:`cuda_math`): on Ampere and later GPUs cuDNN runs float32 convolutions in TF32 (10-bit mantissa) unless
told not to; the protocol's ``tf32`` knob (:mod:`srbench.eval.protocol`) decides, and every measurement sets it.
"""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

import torch

from srbench.core.errors import SrbenchError


def resolve_device(spec: str = "auto") -> torch.device:
    """Turn ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps`` into an available ``torch.device``."""
    spec = (spec or "auto").lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return use_device(torch.device("cuda", _process_gpu()))
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
    if device.type == "cuda":
        return use_device(torch.device("cuda", torch.cuda.current_device() if device.index is None else device.index))
    return device


def _process_gpu() -> int:
    """The GPU ``auto`` gives this process: ``LOCAL_RANK`` (torchrun) when it names an existing GPU, else the
    current CUDA device."""
    local = os.environ.get("LOCAL_RANK", "")
    if local.isdigit() and int(local) < torch.cuda.device_count():
        return int(local)
    return torch.cuda.current_device()


def use_device(device: torch.device) -> torch.device:
    """Make a CUDA ``device`` (with its index) the current CUDA device and return it; other devices unchanged."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


@contextlib.contextmanager
def cuda_math(device: torch.device, *, tf32: bool):
    """Within the block, float32 convolutions (cuDNN) and matrix products on CUDA run in TF32 only if ``tf32``;
    the previous settings are restored afterwards. A no-op off CUDA (TF32 is a CUDA setting)."""
    if torch.device(device).type != "cuda":
        yield
        return
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@contextlib.contextmanager
def torch_threads(count: int):
    """Within the block, torch's CPU operators use ``count`` threads (``torch.set_num_threads``), in this thread and
    in threads started inside it (each takes the count when it first runs an operator); the previous count is
    restored afterwards. Thread counts change no value: torch's CPU operators split their elements, not their sums'
    order, across threads here (they are elementwise conversions where this is used)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def cuda_identity(device: torch.device) -> dict[str, str]:
    """What a CUDA measurement's numbers depend on beyond the libraries' versions: the GPU model, its compute
    capability, the CUDA runtime and cuDNN versions torch was built with. Empty for other devices, so CPU cells'
    keys and tags do not change."""
    device = torch.device(device)
    if device.type != "cuda":
        return {}
    major, minor = torch.cuda.get_device_capability(device)
    return {"gpu": torch.cuda.get_device_name(device), "capability": f"{major}.{minor}",
            "cuda": str(torch.version.cuda), "cudnn": str(torch.backends.cudnn.version())}


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
