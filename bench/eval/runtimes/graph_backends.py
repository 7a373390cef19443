"""The ONNX runtimes: ``onnxruntime`` and ``openvino``, each running the cached ONNX graph on the CPU.

Both run the graph of :func:`srbench.eval.runtimes.graph_cache.onnx_graph` with as many threads as
``torch.get_num_threads()``: ONNX Runtime's CPU provider (sequential execution, no memory patterns; no spinning when
the process asked ``OMP_WAIT_POLICY=PASSIVE``), or OpenVINO's CPU plugin with ``INFERENCE_PRECISION_HINT=f32``: on CPUs with AVX-512
BF16 it otherwise infers in bf16 silently (ECDN x4 on Set5: images move by up to 0.013 dB).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from srbench.core.errors import SrbenchError
from srbench.eval.runtimes.graph_cache import onnx_graph
from srbench.eval.runtimes.packages import package_versions
from srbench.eval.runtimes.runner import Runner, RuntimeDeclined, first_line

#: a loaded graph: (forward, one line describing it)
Loaded = tuple[Callable[[torch.Tensor], torch.Tensor], str]


def _as_numpy_input(x: torch.Tensor, runtime: str) -> np.ndarray:
    """1x3xhxw tensor (any memory format/device) -> C-contiguous float32 NCHW numpy array."""
    if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        raise SrbenchError(f"runtime {runtime!r} takes one 1x3xHxW image, got shape {tuple(x.shape)}")
    return np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())


def _load_onnxruntime(data: bytes, threads: int) -> Loaded:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Memory patterns plan one block per input shape and keep it: every image of a dataset has its own shape, so
    # they grew CARN-M x2's session by 2 GB over Urban100 and were no faster (docs/memory.md: 0.91-1.03x the time,
    # identical outputs). The arena itself stays on (without it, passes took 1.5x as long).
    options.enable_mem_pattern = False
    if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":  # honour the process's "do not spin" choice
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(["sr"], {"lr": _as_numpy_input(x, "onnxruntime")})[0])

    return forward, f"ONNX Runtime CPUExecutionProvider, {threads} threads"


def _load_openvino(data: bytes, threads: int) -> Loaded:
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


_LOADERS: dict[str, Callable[[bytes, int], Loaded]] = {"onnxruntime": _load_onnxruntime,
                                                        "openvino": _load_openvino}


def _graph_runner(runtime: str, model: nn.Module, *, scale: int, bn_mode: str, device: torch.device,
                  weights_sha256: str | None, cache_dir: Path | None) -> Runner:
    """The cached (or freshly exported) graph of ``model`` loaded by ``runtime``."""
    if weights_sha256 is None or cache_dir is None:
        raise RuntimeDeclined(runtime, "needs the weights' sha256 and a cache folder to name and keep its ONNX graph")
    path, data, exported = onnx_graph(model, scale=scale, bn_mode=bn_mode, weights_sha256=weights_sha256,
                                      cache_dir=Path(cache_dir), runtime=runtime)
    threads = torch.get_num_threads()
    try:
        forward, detail = _LOADERS[runtime](data, threads)
    except RuntimeDeclined:
        raise
    except Exception as exc:  # the runtime rejects the graph
        raise RuntimeDeclined(runtime, f"cannot load the ONNX graph ({first_line(exc)})") from exc
    source = "exported" if exported else "cached"
    return Runner(runtime, forward, scale=scale, bn_mode=bn_mode, device=device, versions=package_versions(runtime),
                  detail=f"{detail}, graph {path.name} ({source})", graph_path=path, exported=exported)


def onnxruntime(model: nn.Module, **kwargs) -> Runner:
    """The model's ONNX graph run by ONNX Runtime's CPU provider."""
    return _graph_runner("onnxruntime", model, **kwargs)


def openvino(model: nn.Module, **kwargs) -> Runner:
    """The model's ONNX graph run by OpenVINO's CPU plugin in f32."""
    return _graph_runner("openvino", model, **kwargs)
