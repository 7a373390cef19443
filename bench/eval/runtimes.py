"""Inference runtimes as a declared knob: ``eager | compile | onnxruntime | openvino``, and ``auto`` selection.

One interface, :func:`prepare_runtime`, turns a model (at one scale, in one BatchNorm mode, on one device) into a
:class:`Runner`: a callable ``runner(x)`` or ``runner(x, scale)`` mapping a 1x3xhxw float tensor in [0, 1] to the
1x3x(s·h)x(s·w) output, so it can stand in for the model in ``srbench.eval.evaluate`` and ``srbench.eval.latency``. Its ``name``
and ``versions`` (package versions) are for logs and cache keys.

eager        today's path: the model itself, channels-last, in its BN mode (``models.bn.set_bn_mode``), in place.
eager_nchw   eager on a copy in the NCHW (contiguous) memory format, its input made contiguous in the forward pass
             (that copy is timed too): channels-last was chosen from CPU measurements, and on a GPU cuDNN may be
             faster in NCHW for float32, so ``auto`` on CUDA times both.
compile      ``torch.compile(dynamic=True)`` of a copy (every test image has its own size; a static compile would
             recompile per size). The first call compiles (~20 s on the 2-core CPU); it happens in prepare.
onnxruntime  an ONNX export of a copy (``torch.onnx.export(dynamo=False, opset_version=17)``, dynamic H and W, one
openvino     graph per scale), run by ONNX Runtime's CPU provider or OpenVINO's CPU plugin with as many threads as
             ``torch.get_num_threads()``. OpenVINO runs with ``INFERENCE_PRECISION_HINT=f32``: on CPUs with AVX-512
             BF16 (this one) it otherwise infers in bf16 silently (ECDN x4 on Set5: images move by up to 0.013 dB).

Graph cache: the export is stored under ``cache_dir`` in a file named by the weights' sha256, the scale, the BN mode
and a hash of the export code (this module, the source of every project module the model's classes come from, the
torch version and the opset), written atomically (temp file + rename) with a JSON sidecar holding the file's sha256.
A cached file is used only when the sidecar matches its bytes; otherwise it is exported again.

BatchNorm ``batch`` mode (per-image statistics, see models/bn.py): for graph capture (export and compile) each
BatchNorm is replaced by :class:`PerImageNorm`, which normalises with the input's own per-channel mean and biased
variance over (N, H, W) with the BN's eps, weight and bias: for one image the statistics ``set_bn_mode(model,
'batch')`` uses (equal up to float rounding), exported as ReduceMean ops, with no running-statistics update.

A runtime that cannot serve a model declines with :class:`RuntimeDeclined` (its subclass :class:`RuntimeUnavailable`
when the package does not import), so ``auto`` falls back: parameter-free models (bicubic: numpy code, nothing to
capture) are eager only, and ONNX Runtime / OpenVINO run on CPU devices only.

Fidelity gate (:func:`fidelity_gate`): before a runtime's numbers are used, its 8-bit output on a fixed probe image is
compared with eager's; a PSNR-vs-HR difference above 0.001 dB refuses it. :func:`select_runtime` (``auto``) times
the candidate runtimes (:func:`default_candidates`) on an LR of the probe's size, keeps those that pass the gate and
picks the fastest; the choice is cached as JSON per (weights sha256, BN mode, scale, device, package versions,
export code), so a warm rerun neither probes nor lets timing noise change a choice. Scale is part of the key because
each scale is its own graph and its own gate (a benchmark cell is one scale).

A cell's runtime (:class:`RuntimeUse`): :func:`choose_runtime` names it (a declared runtime as it is; ``auto`` from
its cached choice, probing only without one) without preparing anything, so a warm rerun finds its cells by key at
no cost; :func:`prepare_use` prepares it when a cell must be measured, gating a declared runtime first.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import importlib.metadata
import inspect
import io
import json
import math
import os
import re
import statistics
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable
from time import perf_counter

import numpy as np
import torch
from torch import nn

from srbench.core.hashing import code_fingerprint
from srbench.eval.device import cuda_math, describe_device
from srbench.core.errors import SrbenchError
from srbench.core.names import suggest
from srbench.eval.evaluate import super_resolve
from srbench.eval.weights import prepare_model
from srbench.eval.latency import host_compute, measure_latency
from srbench.eval.scoring import score_pair
from srbench.eval.metrics import psnr
from srbench.core.constants import BN_MODES
from srbench.eval.protocol import Protocol
from srbench.models.bn import set_bn_mode
from srbench.models.common import check_scale

RUNTIMES = ("eager", "eager_nchw", "compile", "onnxruntime", "openvino")
RUNTIME_CHOICES = ("auto", *RUNTIMES)
ONNX_OPSET = 17
#: The fidelity gate's tolerance on |PSNR_candidate - PSNR_eager| against HR on the probe image.
GATE_TOLERANCE_DB = 0.001
#: Without an HR probe the gate can only compare outputs: it then needs PSNR(candidate vs eager) >= this. 80 dB is a
#: mean squared difference of 6.5e-4 levels², e.g. 0.065 % of the values one level apart; measured exports here
#: differ in about 3e-5 of the values (~93 dB).
GATE_MIN_PSNR_VS_REFERENCE_DB = 80.0
#: Distributions whose versions identify each runtime (for cache keys and logs).
PACKAGES = {"eager": ("torch",), "eager_nchw": ("torch",), "compile": ("torch",),
            "onnxruntime": ("torch", "onnx", "onnxruntime"),
            "openvino": ("torch", "onnx", "openvino")}
_CPU_ONLY = ("onnxruntime", "openvino")
#: runtimes whose preparation is paid again in every process (an ONNX export is cached on disk, a compile is not)
_PER_PROCESS_PREP = ("compile",)
#: forward passes ``auto`` amortises a per-process preparation over: about one benchmark set (Set5 5, Set14 14,
#: B100 and Urban100 100 images) and the latency repeats of a cell
WORKLOAD_CALLS = 100
_EXPORT_HW = (24, 28)  # size of the example input the export traces (any size works: H and W are dynamic)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class RuntimeDeclined(SrbenchError):
    """A runtime cannot serve this model/device/BN mode (the caller's ``auto`` falls back); ``reason`` is one line."""

    def __init__(self, runtime: str, reason: str) -> None:
        self.runtime = runtime
        self.reason = reason
        super().__init__(f"runtime {runtime!r} declined: {reason}")


class RuntimeUnavailable(RuntimeDeclined):
    """The runtime's package is not installed (or does not import)."""


class Runner:
    """A prepared runtime for one (model, scale, BN mode, device): ``runner(x)`` or ``runner(x, scale)``.

    ``name``: the runtime; ``versions``: package versions; ``detail``: one line for the log (graph file, threads,
    precision); ``graph_path``: the ONNX file (None for eager/compile); ``exported``: whether this prepare wrote it
    (False when the verified cache was reused). ``torch_memory``: whether its working memory is PyTorch's, which
    ``srbench.eval.latency.measure_peak_memory_mb`` measures (eager, compile); ONNX Runtime and OpenVINO keep their
    own arenas, grown by the evaluation's earlier passes, which that measure cannot separate (it read 0 MiB).
    """

    def __init__(self, name: str, forward: Callable[[torch.Tensor], torch.Tensor], *, scale: int, bn_mode: str,
                 device: torch.device, versions: dict[str, str | None], detail: str = "",
                 graph_path: Path | None = None, exported: bool = False) -> None:
        self.name = name
        self.scale = scale
        self.scales = (scale,)
        self.bn_mode = bn_mode
        self.device = device
        self.versions = versions
        self.detail = detail
        self.graph_path = graph_path
        self.exported = exported
        self.torch_memory = name in ("eager", "eager_nchw", "compile")
        self.host_compute = False  # set for a model that computes on the host (srbench.eval.latency.host_compute)
        self._forward = forward

    def __call__(self, x: torch.Tensor, scale: int | None = None) -> torch.Tensor:
        if scale is not None and scale != self.scale:
            raise SrbenchError(f"runtime {self.name!r} was prepared for x{self.scale}; cannot run at x{scale}")
        return self._forward(x)

    def __repr__(self) -> str:
        return f"Runner({self.name!r}, x{self.scale}, bn_mode={self.bn_mode!r}, {self.detail})"


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (at most 200 characters), for one-line decline reasons."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__


# ----------------------------------------------------------------------------------------------------------------
# Packages


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
def _import_failure(module: str) -> str | None:
    """Why ``module`` does not import (one line), or None when it does."""
    try:
        importlib.import_module(module)
    except Exception as exc:  # ImportError, or a broken install raising anything at import time
        return f"{module} does not import ({_first_line(exc)})"
    return None


def runtime_unavailable_reason(runtime: str) -> str | None:
    """Why ``runtime``'s packages are unusable, or None when all of them import."""
    if runtime not in RUNTIMES:
        raise SrbenchError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIME_CHOICES)}")
    for module in PACKAGES[runtime]:
        reason = _import_failure(module)
        if reason:
            return reason
    return None


def available_runtimes() -> list[str]:
    """The runtimes whose packages import (eager and compile always: they need only torch)."""
    return [r for r in RUNTIMES if runtime_unavailable_reason(r) is None]


# ----------------------------------------------------------------------------------------------------------------
# Graph capture: per-image BatchNorm and the single-scale wrapper


class PerImageNorm(nn.Module):
    """BatchNorm with each image's own statistics: per-image, per-channel mean and biased variance over H and W.

    For a batch of one (every evaluation and latency pass) this is what a BatchNorm in training mode
    (``set_bn_mode(model, 'batch')``) normalises with; written with plain reductions so it exports as ONNX ReduceMean
    ops and updates no running statistics. The form ``(x - mean) / sqrt(mean((x - mean)^2) + eps)`` over the spatial
    axes only is the pattern OpenVINO fuses into one MeanVarianceNormalization kernel: measured on ECDN-M x3 (768x1024
    output), its output is within 5e-7 of eager's (1.4e-5 with the batch axis in the reduction, which OpenVINO does not
    fuse) and about 1.2x faster.
    """

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.eps = float(bn.eps)
        self.affine = bn.affine
        if bn.affine:
            self.register_buffer("weight", bn.weight.detach().clone())
            self.register_buffer("bias", bn.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, x.dim()))
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean = x.mean(dim=dims, keepdim=True)
        centred = x - mean
        var = centred.pow(2).mean(dim=dims, keepdim=True)
        y = centred / torch.sqrt(var + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


class _AtScale(nn.Module):
    """``net(x, scale)`` with the scale fixed, so the captured graph has one input."""

    def __init__(self, net: nn.Module, scale: int) -> None:
        super().__init__()
        self.net = net
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.scale)


def replace_batchnorm(model: nn.Module) -> int:
    """Swap every BatchNorm in ``model`` for a :class:`PerImageNorm` (in place); returns how many were swapped."""
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, PerImageNorm(child))
                swapped += 1
    return swapped


def capture_model(model: nn.Module, scale: int, bn_mode: str) -> nn.Module:
    """A CPU, NCHW, eval-mode copy of ``model`` at ``scale`` with its BN mode baked in, ready for export/compile.

    ``eval``: BatchNorms keep using their running statistics (except those that track none, which always use the
    batch's and are therefore swapped too); ``batch``: every BatchNorm becomes a :class:`PerImageNorm`.
    The caller's model is left untouched.
    """
    if bn_mode not in BN_MODES:
        raise SrbenchError(f"bn_mode={bn_mode!r} is not one of {', '.join(BN_MODES)}")
    net = copy.deepcopy(model).cpu().float().to(memory_format=torch.contiguous_format)
    set_bn_mode(net, "eval")  # also restores momenta a caller's batch mode saved on the original
    if bn_mode == "batch":
        replace_batchnorm(net)
    else:
        for parent in list(net.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.modules.batchnorm._BatchNorm) and not child.track_running_stats:
                    setattr(parent, name, PerImageNorm(child))
    return _AtScale(net, scale).eval()


def _check_capturable(model: nn.Module, runtime: str) -> None:
    """Parameter-free models (bicubic) run numpy code outside torch: nothing to capture, eager only. So do the
    inference wrappers (tiling, self-ensemble: ``eager_only``), whose control flow depends on the input size and
    would be frozen into a traced graph at the probe's size."""
    if getattr(model, "eager_only", False):
        raise RuntimeDeclined(runtime, f"{type(model).__name__} (tiling / self-ensemble) runs eager only")
    if next(iter(model.parameters()), None) is None:
        arch = getattr(model, "arch", type(model).__name__)
        raise RuntimeDeclined(runtime, f"{arch} has no parameters (its work is not a torch graph); eager only")


# ----------------------------------------------------------------------------------------------------------------
# ONNX export and its cache


def _module_fingerprints(model: nn.Module) -> dict[str, str]:
    """Source fingerprints (syntax tree, docstrings excluded) of the project modules defining the model's classes."""
    modules = {__name__: sys.modules[__name__]}
    for m in model.modules():
        for cls in type(m).__mro__:
            module = inspect.getmodule(cls)
            name = getattr(module, "__name__", "")
            if module is not None and name and name.split(".")[0] not in ("torch", "builtins", "typing"):
                modules[name] = module
    return {name: _source_fingerprint(module) for name, module in sorted(modules.items())}


def _source_fingerprint(module) -> str:
    """A module's source fingerprint, computed once per state of its file (parsing it is ~0.1 s; auto asks for it
    once per network, BN mode and scale of a benchmark, warm reruns included)."""
    path = getattr(module, "__file__", None)
    try:
        stamp = os.stat(path).st_mtime_ns if path else None
    except OSError:
        stamp = None
    return _fingerprint_of(module.__name__, path, stamp)


@functools.lru_cache(maxsize=256)
def _fingerprint_of(name: str, path: str | None, stamp: int | None) -> str:
    module = sys.modules[name]
    try:
        return code_fingerprint(inspect.getsource(module))
    except (OSError, TypeError):  # no source available (compiled/frozen): fall back to the module's identity
        return path or name


def export_code_hash(model: nn.Module) -> str:
    """Hash (16 hex) of what determines the exported graph besides the weights: code, torch version, opset."""
    digest = hashlib.sha256()
    for name, fingerprint in _module_fingerprints(model).items():
        digest.update(name.encode())
        digest.update(fingerprint.encode())
    digest.update(f"torch={torch.__version__};opset={ONNX_OPSET}".encode())
    return digest.hexdigest()[:16]


def graph_file(cache_dir: Path, model: nn.Module, *, scale: int, bn_mode: str, weights_sha256: str) -> Path:
    """The cache path of the model's ONNX graph at ``scale`` in ``bn_mode``."""
    arch = re.sub(r"[^A-Za-z0-9_.-]", "_", str(getattr(model, "arch", type(model).__name__)))
    return Path(cache_dir) / f"{arch}-{weights_sha256}-x{scale}-{bn_mode}-{export_code_hash(model)}.onnx"


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _read_verified(path: Path, identity: dict) -> bytes | None:
    """The cached graph's bytes when its sidecar matches them and ``identity``; None when missing or corrupt."""
    try:
        meta = json.loads(_sidecar(path).read_text())
        data = path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("identity") != identity:
        return None
    return data if hashlib.sha256(data).hexdigest() == meta.get("sha256") else None


def _export_bytes(net: nn.Module, runtime: str) -> bytes:
    """ONNX bytes of a captured model with dynamic H/W; any tracer warning or failure declines the runtime."""
    buffer = io.BytesIO()
    example = torch.rand(1, 3, *_EXPORT_HW, generator=torch.Generator().manual_seed(0))
    axes = {"lr": {2: "height", 3: "width"}, "sr": {2: "out_height", 3: "out_width"}}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "legacy TorchScript-based ONNX export"
            warnings.simplefilter("error", torch.jit.TracerWarning)  # a trace that may not generalise is refused
            torch.onnx.export(net, (example,), buffer, input_names=["lr"], output_names=["sr"], dynamic_axes=axes,
                              opset_version=ONNX_OPSET, dynamo=False, do_constant_folding=True)
    except Exception as exc:
        raise RuntimeDeclined(runtime, f"ONNX export failed ({_first_line(exc)})") from exc
    return buffer.getvalue()


def onnx_graph(model: nn.Module, *, scale: int, bn_mode: str, weights_sha256: str, cache_dir: Path,
               runtime: str = "onnx") -> tuple[Path, bytes, bool]:
    """The verified ONNX graph of ``model`` at ``scale`` in ``bn_mode``: (path, bytes, exported now?).

    Reuses the cached file when its sidecar sha256 matches; otherwise exports and writes file and sidecar atomically.
    """
    if not isinstance(weights_sha256, str) or not _SHA256.fullmatch(weights_sha256):
        raise SrbenchError(f"weights_sha256={weights_sha256!r}: expected 64 lowercase hex digits (the sha256 of the "
                           f"weights file) to name the ONNX cache")
    check_scale(model, scale)
    _check_capturable(model, runtime)
    path = graph_file(cache_dir, model, scale=scale, bn_mode=bn_mode, weights_sha256=weights_sha256)
    identity = {"arch": str(getattr(model, "arch", type(model).__name__)), "weights_sha256": weights_sha256,
                "scale": scale, "bn_mode": bn_mode, "export_code": export_code_hash(model),
                "torch": torch.__version__, "opset": ONNX_OPSET}
    data = _read_verified(path, identity)
    if data is not None:
        return path, data, False
    data = _export_bytes(capture_model(model, scale, bn_mode), runtime)
    _write_atomic(path, data)
    _write_atomic(_sidecar(path), json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "identity": identity},
                                             indent=1, sort_keys=True).encode())
    return path, data, True


# ----------------------------------------------------------------------------------------------------------------
# The runtimes


def _as_numpy_input(x: torch.Tensor, runtime: str) -> np.ndarray:
    """1x3xhxw tensor (any memory format/device) -> C-contiguous float32 NCHW numpy array."""
    if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        raise SrbenchError(f"runtime {runtime!r} takes one 1x3xHxW image, got shape {tuple(x.shape)}")
    return np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())


def _eager(model: nn.Module, scale: int, bn_mode: str, device: torch.device) -> Runner:
    net = prepare_model(set_bn_mode(model, bn_mode).to(device))

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return net(x, scale)

    runner = Runner("eager", forward, scale=scale, bn_mode=bn_mode, device=device,
                    versions=package_versions("eager"), detail=f"PyTorch eager, channels-last, {device.type}")
    runner.host_compute = host_compute(model)
    return runner


def _eager_nchw(model: nn.Module, scale: int, bn_mode: str, device: torch.device) -> Runner:
    net = set_bn_mode(copy.deepcopy(model), bn_mode).to(device).to(memory_format=torch.contiguous_format)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return net(x.contiguous(), scale)

    runner = Runner("eager_nchw", forward, scale=scale, bn_mode=bn_mode, device=device,
                    versions=package_versions("eager_nchw"), detail=f"PyTorch eager, NCHW, {device.type}")
    runner.host_compute = host_compute(model)
    return runner


def _compile(model: nn.Module, scale: int, bn_mode: str, device: torch.device) -> Runner:
    net = prepare_model(capture_model(model, scale, bn_mode).to(device))
    compiled = torch.compile(net, dynamic=True)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return compiled(x)

    warm = torch.rand(1, 3, 17, 19, generator=torch.Generator().manual_seed(0)).to(device)
    try:
        forward(warm.contiguous(memory_format=torch.channels_last))
    except Exception as exc:  # no C++ compiler, an unsupported op...: the runtime cannot serve this model
        raise RuntimeDeclined("compile", f"torch.compile failed ({_first_line(exc)})") from exc
    return Runner("compile", forward, scale=scale, bn_mode=bn_mode, device=device,
                  versions=package_versions("compile"), detail=f"torch.compile(dynamic=True), {device.type}")


def _onnxruntime(data: bytes, threads: int) -> tuple[Callable[[torch.Tensor], torch.Tensor], str]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":  # honour the process's "do not spin" choice
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(["sr"], {"lr": _as_numpy_input(x, "onnxruntime")})[0])

    return forward, f"ONNX Runtime CPUExecutionProvider, {threads} threads"


def _openvino(data: bytes, threads: int) -> tuple[Callable[[torch.Tensor], torch.Tensor], str]:
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(core.read_model(data), "CPU", {
        "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"})
    precision = compiled.get_property("INFERENCE_PRECISION_HINT")
    if precision != ov.Type.f32:
        raise RuntimeDeclined("openvino", f"the CPU plugin reports inference precision {precision}, not f32")
    request = compiled.create_infer_request()

    def forward(x: torch.Tensor) -> torch.Tensor:
        request.infer({0: _as_numpy_input(x, "openvino")})
        return torch.from_numpy(request.get_output_tensor(0).data.copy())

    return forward, f"OpenVINO CPU, f32, {compiled.get_property('INFERENCE_NUM_THREADS')} threads"


def _prepare_runtime(model: nn.Module, runtime: str, *, scale: int, bn_mode: str, device: torch.device | str = "cpu",
                    weights_sha256: str | None = None, cache_dir: Path | str | None = None) -> Runner:
    """A :class:`Runner` for ``model`` at ``scale`` in ``bn_mode`` on ``device`` with ``runtime``.

    ``eager`` puts the model itself in ``bn_mode``, on ``device`` and channels-last (today's evaluation path);
    the other runtimes work on a copy. ``onnxruntime``/``openvino`` need ``weights_sha256`` and ``cache_dir`` (the
    graph cache). Raises :class:`RuntimeDeclined` when the runtime cannot serve this model, device or BN mode.
    """
    device = torch.device(device)
    if runtime == "auto":
        raise SrbenchError("runtime 'auto' is resolved by select_runtime (it needs a probe image), not prepare_runtime")
    reason = runtime_unavailable_reason(runtime)
    if reason:
        raise RuntimeUnavailable(runtime, reason)
    if bn_mode not in BN_MODES:
        raise SrbenchError(f"bn_mode={bn_mode!r} is not one of {', '.join(BN_MODES)}")
    check_scale(model, scale)
    if runtime == "eager":
        return _eager(model, scale, bn_mode, device)
    if runtime == "eager_nchw":
        return _eager_nchw(model, scale, bn_mode, device)
    _check_capturable(model, runtime)
    if runtime == "compile":
        return _compile(model, scale, bn_mode, device)
    if runtime in _CPU_ONLY and device.type != "cpu":
        raise RuntimeDeclined(runtime, f"runs on the CPU only; the cell's device is {device}")
    if weights_sha256 is None or cache_dir is None:
        raise RuntimeDeclined(runtime, "needs the weights' sha256 and a cache folder to name and keep its ONNX graph")
    path, data, exported = onnx_graph(model, scale=scale, bn_mode=bn_mode, weights_sha256=weights_sha256,
                                      cache_dir=Path(cache_dir), runtime=runtime)
    threads = torch.get_num_threads()
    try:
        forward, detail = (_onnxruntime if runtime == "onnxruntime" else _openvino)(data, threads)
    except RuntimeDeclined:
        raise
    except Exception as exc:  # the runtime rejects the graph
        raise RuntimeDeclined(runtime, f"cannot load the ONNX graph ({_first_line(exc)})") from exc
    source = "exported" if exported else "cached"
    return Runner(runtime, forward, scale=scale, bn_mode=bn_mode, device=device, versions=package_versions(runtime),
                  detail=f"{detail}, graph {path.name} ({source})", graph_path=path, exported=exported)


def prepare_runtime(model: nn.Module, runtime: str, **kwargs) -> Runner:
    """:func:`_prepare_runtime`, with the runner naming the model it runs (``arch``, ``weights_label``) so that
    errors raised while measuring it name the network and its weights, not the runner."""
    runner = _prepare_runtime(model, runtime, **kwargs)
    for attr in ("arch", "weights_label"):
        if getattr(model, attr, None) is not None:
            setattr(runner, attr, getattr(model, attr))
    return runner


# ----------------------------------------------------------------------------------------------------------------
# Fidelity gate


@dataclass(frozen=True)
class GateResult:
    """The fidelity gate's verdict on one runtime at one scale, against the reference (eager) on the probe image.

    ``max_abs_diff``: largest difference of the 8-bit outputs (levels); ``changed_fraction``: share of output values
    that differ; ``psnr_vs_reference``: PSNR of the candidate's 8-bit output against the reference's (inf when
    identical); ``reference_psnr``/``candidate_psnr``: PSNR against HR under the cell's protocol (None without HR);
    ``delta_db``: candidate minus reference. ``note`` is a one-line summary for the log.
    """

    candidate: str
    reference: str
    scale: int
    passed: bool
    max_abs_diff: int
    changed_fraction: float
    psnr_vs_reference: float
    reference_psnr: float | None
    candidate_psnr: float | None
    delta_db: float | None
    tolerance_db: float
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


def compare_outputs(reference_u8: np.ndarray, candidate_u8: np.ndarray, hr_u8: np.ndarray | None = None, *,
                    scale: int, protocol: Protocol | None = None, gray: bool = False, candidate: str = "candidate",
                    reference: str = "eager", tolerance_db: float = GATE_TOLERANCE_DB,
                    min_psnr_vs_reference_db: float = GATE_MIN_PSNR_VS_REFERENCE_DB) -> GateResult:
    """The gate on two 8-bit outputs of the same probe (pure): passes when the PSNR against HR moves by at most
    ``tolerance_db``; without HR, when PSNR(candidate vs reference) >= ``min_psnr_vs_reference_db``."""
    protocol = protocol or Protocol()
    if reference_u8.shape != candidate_u8.shape:
        note = (f"{candidate} x{scale}: refused by the fidelity gate: output {candidate_u8.shape} differs in size "
                f"from {reference}'s {reference_u8.shape}")
        return GateResult(candidate, reference, scale, False, 255, 1.0, 0.0, None, None, None, tolerance_db, note)
    diff = np.abs(reference_u8.astype(np.int16) - candidate_u8.astype(np.int16))
    max_abs = int(diff.max()) if diff.size else 0
    changed = float(np.count_nonzero(diff)) / max(diff.size, 1)
    vs_ref = math.inf if max_abs == 0 else float(psnr(candidate_u8.astype(np.float64),
                                                      reference_u8.astype(np.float64), data_range=255.0))
    ref_psnr = cand_psnr = delta = None
    if hr_u8 is not None:
        ref_psnr = score_pair(reference_u8, hr_u8, scale=scale, protocol=protocol, gray=gray)[0]
        cand_psnr = score_pair(candidate_u8, hr_u8, scale=scale, protocol=protocol, gray=gray)[0]
        delta = 0.0 if max_abs == 0 else cand_psnr - ref_psnr  # identical outputs: exactly 0 (inf - inf aside)
        passed = abs(delta) <= tolerance_db
        measure = (f"probe PSNR {cand_psnr:.4f} dB vs {reference} {ref_psnr:.4f} dB "
                   f"(difference {delta:+.5f}, tolerance {tolerance_db})")
    else:
        passed = vs_ref >= min_psnr_vs_reference_db
        measure = f"PSNR vs {reference}'s output {vs_ref:.1f} dB (needs >= {min_psnr_vs_reference_db}; no HR)"
    verdict = "passes the fidelity gate" if passed else "refused by the fidelity gate"
    note = (f"{candidate} x{scale}: {verdict}: {measure}; max pixel difference {max_abs}, "
            f"{changed:.1e} of values differ")
    return GateResult(candidate, reference, scale, passed, max_abs, changed, vs_ref, ref_psnr, cand_psnr, delta,
                      tolerance_db, note)


def _probe_output(runner: Callable, lr_u8: np.ndarray, scale: int, protocol: Protocol,
                  device: torch.device) -> np.ndarray:
    return super_resolve(runner, lr_u8, scale, protocol, device)[0]


def fidelity_gate(reference: Runner, candidate: Runner, probe_lr_u8: np.ndarray, hr_u8: np.ndarray | None = None,
                  *, protocol: Protocol | None = None, gray: bool = False, tolerance_db: float = GATE_TOLERANCE_DB,
                  reference_u8: np.ndarray | None = None) -> GateResult:
    """Run both runners on the probe LR, quantize as the protocol does (``round`` by default) and compare.

    ``hr_u8``: the probe's HR (cropped to a multiple of the scale, as ``load_samples`` gives it); the gate then
    compares PSNR against HR (the issue's criterion). ``reference_u8``: the reference's 8-bit output when already
    computed (auto selection reuses it for every candidate).
    """
    protocol = protocol or Protocol()
    if reference.scale != candidate.scale:
        raise SrbenchError(f"fidelity gate: reference is x{reference.scale}, candidate x{candidate.scale}")
    scale = candidate.scale
    if reference_u8 is None:
        reference_u8 = _probe_output(reference, probe_lr_u8, scale, protocol, reference.device)
    try:
        candidate_u8 = _probe_output(candidate, probe_lr_u8, scale, protocol, candidate.device)
    except SrbenchError:
        raise
    except Exception as exc:  # the runtime failed on the probe: it cannot be used for this model
        raise RuntimeDeclined(candidate.name, f"failed on the probe image ({_first_line(exc)})") from exc
    return compare_outputs(reference_u8, candidate_u8, hr_u8, scale=scale, protocol=protocol, gray=gray,
                           candidate=candidate.name, reference=reference.name, tolerance_db=tolerance_db)


# ----------------------------------------------------------------------------------------------------------------
# auto


@dataclass
class Selection:
    """What ``auto`` chose for one (model, scale, BN mode, device) and why.

    ``timings_ms``: median forward on the timing probe per runtime that passed the gate; ``gates``: every gate result
    (as dicts); ``declined``: runtime -> one-line reason; ``cached``: read from the choice file (no probe ran);
    ``runner``: the chosen runtime, prepared, when this call probed (None when cached: prepare it again).
    """

    runtime: str
    key: str
    scale: int
    bn_mode: str
    device: str
    timings_ms: dict[str, float]
    gates: dict[str, dict]
    declined: dict[str, str]
    cached: bool = False
    runner: Runner | None = field(default=None, repr=False, compare=False)

    @property
    def notes(self) -> list[str]:
        """One line per refused or declined runtime, then the choice: for the log."""
        lines = [gate["note"] for gate in self.gates.values() if not gate["passed"]]
        lines += [f"{name} x{self.scale}: declined: {reason}" for name, reason in self.declined.items()]
        timing = ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(self.timings_ms.items(), key=lambda kv: kv[1]))
        source = "cached choice" if self.cached else "timed probe"
        lines.append(f"auto x{self.scale} ({self.bn_mode}): {self.runtime} ({source}: {timing})")
        return lines

    def as_dict(self) -> dict:
        return {"runtime": self.runtime, "key": self.key, "scale": self.scale, "bn_mode": self.bn_mode,
                "device": self.device, "timings_ms": self.timings_ms, "gates": self.gates, "declined": self.declined}


def default_candidates(device: torch.device | str) -> tuple[str, ...]:
    """Runtimes ``auto`` probes on ``device``: eager, ONNX Runtime and OpenVINO on CPU; eager (channels-last), eager
    in NCHW and compile elsewhere.

    ``compile`` is left out on CPU: its compilation (~20 s per model and scale, again in every process) is not
    repaid there (measured on this CPU: about as fast as channels-last eager). Where it is a candidate its
    preparation time counts in the choice (:func:`select_runtime`). ONNX Runtime and OpenVINO are CPU builds here.
    Channels-last eager is the CPU's choice by measurement; on a GPU, NCHW is timed beside it.
    """
    if torch.device(device).type == "cpu":
        return ("eager", *_CPU_ONLY)
    return ("eager", "eager_nchw", "compile")


def device_identity(device: torch.device | str) -> str:
    """``describe_device`` plus, on CPU, the processor model (the choice depends on the machine, not just 'CPU')."""
    device = torch.device(device)
    text = describe_device(device)
    if device.type == "cpu":
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return f"{text} {line.split(':', 1)[1].strip()}"
        except OSError:
            pass
    return text


def choice_key(model: nn.Module, *, weights_sha256: str | None, bn_mode: str, scale: int, device: torch.device | str,
               candidates: tuple[str, ...], tolerance_db: float = GATE_TOLERANCE_DB,
               workload_calls: int = WORKLOAD_CALLS) -> str:
    """sha256 (16 hex) of everything an ``auto`` choice depends on except timing noise (the workload size only
    where a candidate's preparation is paid per process, so CPU choices keep their keys)."""
    identity = {"weights_sha256": weights_sha256, "bn_mode": bn_mode, "scale": scale,
                "device": device_identity(device), "candidates": sorted(candidates),
                "versions": {r: package_versions(r) for r in sorted(candidates)},
                "export_code": export_code_hash(model), "tolerance_db": tolerance_db}
    if set(candidates) & set(_PER_PROCESS_PREP):
        identity["workload_calls"] = workload_calls
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def _choice_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "runtime-choices" / f"{key}.json"


_CHOICE_FIELDS = ("runtime", "key", "scale", "bn_mode", "device", "timings_ms", "gates", "declined")


def _read_choice(path: Path, key: str) -> dict | None:
    """The cached choice for ``key``; None when missing, unreadable or not a choice for this key (probe again)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return valid_choice(record, key)


def valid_choice(record, key: str) -> dict | None:
    """``record``'s choice fields when it is a choice for ``key`` (from the cache or the store), else None."""
    if not isinstance(record, dict) or not set(_CHOICE_FIELDS) <= set(record) or record["key"] != key \
            or record["runtime"] not in RUNTIMES:
        return None
    return {name: record[name] for name in _CHOICE_FIELDS}


def select_runtime(model: nn.Module, *, scale: int, bn_mode: str, device: torch.device | str,
                   weights_sha256: str | None, cache_dir: Path | str, probe_lr_u8: np.ndarray,
                   probe_hr_u8: np.ndarray | None,
                   protocol: Protocol | None = None, gray: bool = False, candidates: tuple[str, ...] | None = None,
                   timing_lr_hw: tuple[int, int] | None = None, repeats: int = 3, min_speedup: float = 1.05,
                   tolerance_db: float = GATE_TOLERANCE_DB, refresh: bool = False,
                   workload_calls: int = WORKLOAD_CALLS) -> Selection:
    """``auto``: the fastest runtime that passes the fidelity gate, from a short timed probe; cached per key.

    Each candidate is prepared (declines are recorded) and gated on the probe image against eager; those that pass
    are timed with ``srbench.eval.latency.measure_latency`` on a random LR of ``timing_lr_hw`` (default: the probe's size,
    i.e. the workload's; on a 64x64 LR fixed overheads hide OpenVINO's 2x gain at 720p), in ``repeats`` rounds that
    take turns between runtimes (so a change in machine load hits all alike), median per runtime. Eager is kept
    unless another runtime is at least ``min_speedup`` times faster (smaller gains are within the noise here). A
    runtime whose preparation is paid again in every process (``compile``) is compared by its preparation time
    plus ``workload_calls`` timed calls, the others by the calls alone: a compile that takes 40 s to save 2 ms a
    call is not faster for a cell of a hundred images. The choice is written to
    ``cache_dir/runtime-choices/<key>.json`` (see :func:`choice_key`) and read back on later
    calls unless ``refresh``; eager (the reference) is always a candidate. The model is left in ``bn_mode``.
    """
    device = torch.device(device)
    protocol = protocol or Protocol(bn_mode=bn_mode)
    candidates = tuple(dict.fromkeys(("eager", *(candidates or default_candidates(device)))))
    key = choice_key(model, weights_sha256=weights_sha256, bn_mode=bn_mode, scale=scale, device=device,
                     candidates=candidates, tolerance_db=tolerance_db, workload_calls=workload_calls)
    path = _choice_path(Path(cache_dir), key)
    record = None if refresh else _read_choice(path, key)
    if record is not None:
        return Selection(**record, cached=True)

    eager = prepare_runtime(model, "eager", scale=scale, bn_mode=bn_mode, device=device)
    reference_u8 = _probe_output(eager, probe_lr_u8, scale, protocol, device)
    lr_hw = timing_lr_hw or probe_lr_u8.shape[:2]
    out_hw = (lr_hw[0] * scale, lr_hw[1] * scale)
    runners: dict[str, Runner] = {"eager": eager}
    gates: dict[str, dict] = {}
    declined: dict[str, str] = {}
    prepare_ms: dict[str, float] = {}
    for name in candidates:
        try:
            if name == "eager":  # the reference itself: compared with its own output, it passes by construction
                runner = eager
                gate = compare_outputs(reference_u8, reference_u8, probe_hr_u8, scale=scale, protocol=protocol,
                                       gray=gray, candidate=name, tolerance_db=tolerance_db)
            else:
                started = perf_counter()
                runner = prepare_runtime(model, name, scale=scale, bn_mode=bn_mode, device=device,
                                         weights_sha256=weights_sha256, cache_dir=cache_dir)
                prepare_ms[name] = (perf_counter() - started) * 1e3
                gate = fidelity_gate(eager, runner, probe_lr_u8, probe_hr_u8, protocol=protocol, gray=gray,
                                     tolerance_db=tolerance_db, reference_u8=reference_u8)
        except RuntimeDeclined as exc:
            declined[name] = exc.reason
            continue
        gates[name] = gate.as_dict()
        if gate.passed:
            runners[name] = runner
    rounds: dict[str, list[float]] = {name: [] for name in runners}
    with cuda_math(device, tf32=protocol.tf32):  # timed under the cell's TF32 setting
        for _ in range(repeats):  # every runner already ran once at the probe's size (the gate): warm on CPU
            for name, runner in runners.items():
                rounds[name].append(measure_latency(runner, scale, device, warmup=0 if device.type == "cpu" else 1,
                                                    repeats=1, out_hw=out_hw).median_ms)
    timings = {name: statistics.median(values) for name, values in rounds.items()}
    totals = {name: workload_calls * ms + (prepare_ms.get(name, 0.0) if name in _PER_PROCESS_PREP else 0.0)
              for name, ms in timings.items()}
    best = min(totals, key=totals.get)
    if best != "eager" and "eager" in totals and totals["eager"] < min_speedup * totals[best]:
        best = "eager"
    selection = Selection(runtime=best, key=key, scale=scale, bn_mode=bn_mode, device=device_identity(device),
                          timings_ms=timings, gates=gates, declined=declined, runner=runners[best])
    _write_atomic(path, json.dumps(selection.as_dict(), indent=1, sort_keys=True, default=str).encode())
    return selection


# ----------------------------------------------------------------------------------------------------------------
# A cell's runtime: what was asked, what runs, and why (used by the benchmark runner and `srbench evaluate`)


CHOICE_KEY_TAG = "srbench.runtime_choice_key"
SELECTION_TAG = "srbench.runtime_selection"
MAX_TAG_CHARS = 8000  # MLflow's limit on a tag value


@dataclass
class RuntimeUse:
    """The runtime one (model, scale, BN mode, device) uses: ``requested`` (``auto`` or a runtime), ``runtime`` (the
    one that runs), its package ``versions``, ``choice_note`` (one line: how it was chosen) and ``gate_note`` (the
    fidelity gate's one line on the runtime used; filled when the choice or the preparation gated it).
    ``selection``: auto's record; ``runner``: the prepared runtime when choosing already prepared it."""

    requested: str
    runtime: str
    versions: dict[str, str | None]
    choice_note: str
    gate_note: str = ""
    selection: Selection | None = field(default=None, repr=False)
    runner: Runner | None = field(default=None, repr=False, compare=False)

    def identity(self) -> dict:
        """What a cell key holds of the runtime: its name and package versions (not how it was chosen)."""
        return {"name": self.runtime, "versions": self.versions}

    def tags(self) -> dict[str, str]:
        """MLflow tags: ``srbench.runtime`` (the one that ran), what was asked, versions, the choice and the gate;
        for auto's choice also its key and record (:data:`CHOICE_KEY_TAG`, :data:`SELECTION_TAG`), which other
        machines read instead of probing again (``choose_runtime(stored=...)``)."""
        tags = {"srbench.runtime": self.runtime, "srbench.runtime_requested": self.requested,
                "srbench.runtime_versions": " ".join(f"{k}={v}" for k, v in sorted(self.versions.items())),
                "srbench.runtime_choice": self.choice_note, "srbench.runtime_gate": self.gate_note}
        if self.selection is not None:
            record = json.dumps(self.selection.as_dict(), sort_keys=True, default=str)
            tags[CHOICE_KEY_TAG] = self.selection.key
            if len(record) <= MAX_TAG_CHARS:
                tags[SELECTION_TAG] = record
        return tags


@dataclass(frozen=True)
class Probe:
    """The fixed probe of a cell's fidelity gate and of auto's timing: one LR/HR pair (HR cropped to the scale)."""

    lr: np.ndarray
    hr: np.ndarray | None
    gray: bool = False
    name: str = ""


def probe_sample(dataset: str, scale: int, lr_source: str = "file") -> Probe:
    """The first image (sorted by file name) of ``dataset`` at ``scale``: the probe of every cell that starts with
    this dataset (decoded once per process, like the evaluation's images)."""
    from srbench.data.datasets import load_samples

    for sample in load_samples(dataset, scale, lr_source=lr_source):
        return Probe(sample.lr, sample.hr, sample.gray, f"{dataset}/{sample.name}")
    raise SrbenchError(f"dataset {dataset}: no images, so there is no probe for the fidelity gate")


def graph_sha256(weights_sha256: str | None) -> str | None:
    """The weights digest that names an ONNX graph, or None when there is none (untrained weights: ``none``), in
    which case the graph runtimes decline and auto keeps eager."""
    return weights_sha256 if isinstance(weights_sha256, str) and _SHA256.fullmatch(weights_sha256) else None


def _label(model: nn.Module, scale: int, bn_mode: str) -> str:
    return f"{getattr(model, 'arch', type(model).__name__)} x{scale} (bn={bn_mode})"


def check_runtime_name(name: str, where: str = "runtime") -> str:
    """``name`` when it is ``auto`` or a runtime, else a one-line error with the closest name."""
    if name not in RUNTIME_CHOICES:
        raise SrbenchError(f"{where}: unknown runtime {name!r}{suggest(str(name), RUNTIME_CHOICES)}; "
                           f"known: {', '.join(RUNTIME_CHOICES)}")
    return name


def choose_runtime(model: nn.Module | None, requested: str, *, scale: int, bn_mode: str, device: torch.device | str,
                   weights_sha256: str | None, cache_dir: Path | str, probe: Callable[[], Probe],
                   protocol: Protocol | None = None, candidates: tuple[str, ...] | None = None,
                   stored: Callable[[str], dict | None] | None = None) -> RuntimeUse:
    """Which runtime serves ``model`` at ``scale`` in ``bn_mode``: a declared one as it is (checked and gated when
    prepared, :func:`prepare_use`), or ``auto``'s choice (:func:`select_runtime`, cached; ``probe()`` is called only
    when it must probe). Parameter-free models (bicubic) are eager without probing. ``model`` is needed for
    ``auto`` only (its choice is keyed by the network's export code). ``stored(key)``: the choice already recorded
    for ``key`` where every machine sees it (the tracking store), or None; it wins over this machine's cache (which
    it then replaces), so every shard and requeue of an experiment runs a network on the same runtime."""
    check_runtime_name(requested)
    if requested != "auto":
        return RuntimeUse(requested, requested, package_versions(requested), f"{requested} (declared)")
    if next(iter(model.parameters()), None) is None:
        return RuntimeUse("auto", "eager", package_versions("eager"),
                          f"auto {_label(model, scale, bn_mode)}: eager (no parameters: nothing for another runtime "
                          "to run)", gate_note="eager: the reference")
    device = torch.device(device)
    sha = graph_sha256(weights_sha256)
    candidates = tuple(dict.fromkeys(("eager", *(candidates or default_candidates(device)))))
    key = choice_key(model, weights_sha256=sha, bn_mode=bn_mode, scale=scale, device=device, candidates=candidates)
    path = _choice_path(Path(cache_dir), key)
    record = valid_choice(stored(key), key) if stored is not None else None
    if record is not None:
        _write_atomic(path, json.dumps(record, indent=1, sort_keys=True, default=str).encode())
    else:
        record = _read_choice(path, key)
    if record is not None:
        selection = Selection(**record, cached=True)
    else:
        sample = probe()
        selection = select_runtime(model, scale=scale, bn_mode=bn_mode, device=device, weights_sha256=sha,
                                   cache_dir=cache_dir, probe_lr_u8=sample.lr, probe_hr_u8=sample.hr,
                                   protocol=protocol or Protocol(bn_mode=bn_mode), gray=sample.gray,
                                   candidates=candidates)
    gate = selection.gates.get(selection.runtime, {})
    *others, choice = selection.notes  # the choice line comes last: "auto x4 (eval): openvino (timed probe: ...)"
    note = f"auto {_label(model, scale, bn_mode)}: " + "; ".join([choice.split(": ", 1)[1], *others])
    return RuntimeUse("auto", selection.runtime, package_versions(selection.runtime), note,
                      gate_note=gate.get("note", ""), selection=selection, runner=selection.runner)


def prepare_use(use: RuntimeUse, model: nn.Module, *, scale: int, bn_mode: str, device: torch.device | str,
                weights_sha256: str | None, cache_dir: Path | str, probe: Callable[[], Probe],
                protocol: Protocol | None = None) -> Runner:
    """The prepared :class:`Runner` of ``use``. A declared runtime other than eager passes the fidelity gate on the
    probe first (``use.gate_note`` records it); a refusal raises :class:`RuntimeDeclined` with the gate's note, like
    a runtime that cannot serve the model. Auto's runtime was gated when it was chosen."""
    if use.runner is not None:
        return use.runner
    device = torch.device(device)
    runner = prepare_runtime(model, use.runtime, scale=scale, bn_mode=bn_mode, device=device,
                             weights_sha256=graph_sha256(weights_sha256), cache_dir=cache_dir)
    if use.runtime == "eager":
        use.gate_note = use.gate_note or "eager: the reference"
    elif use.requested != "auto":
        sample = probe()
        eager = prepare_runtime(model, "eager", scale=scale, bn_mode=bn_mode, device=device)
        gate = fidelity_gate(eager, runner, sample.lr, sample.hr, protocol=protocol or Protocol(bn_mode=bn_mode),
                             gray=sample.gray)
        use.gate_note = f"{gate.note} (probe {sample.name})" if sample.name else gate.note
        if not gate.passed:
            raise RuntimeDeclined(use.runtime, gate.note)
    use.runner = runner
    return runner


def declined_error(exc: RuntimeDeclined, model: nn.Module, scale: int, bn_mode: str) -> SrbenchError:
    """The one-line error for a declared runtime that declines (auto would have fallen back)."""
    return SrbenchError(f"runtime {exc.runtime!r} cannot serve {_label(model, scale, bn_mode)}: {exc.reason}; "
                        f"declare runtime: auto (falls back) or eager for it")
