"""Inference runtimes as a declared knob: ``eager | eager_nchw | compile | onnxruntime | openvino``.

One interface, :func:`prepare_runtime`, turns a model (at one scale, in one BatchNorm mode, on one device) into a
:class:`Runner`: a callable ``runner(x)`` or ``runner(x, scale)`` mapping a 1x3xhxw float tensor in [0, 1] to the
1x3x(s·h)x(s·w) output, so it can stand in for the model in ``srbench.eval.evaluate`` and ``srbench.eval.latency``.
Its ``name`` and ``versions`` (package versions) are for logs and cache keys. A runtime that cannot serve a model
declines with :class:`RuntimeDeclined` (:class:`RuntimeUnavailable` when its package does not import).

This package holds only what can move a number, so the cell key's code version (the import closure of
``srbench.eval``) changes exactly when such code does. One job per module:

runner          the prepared runtime and the declines
packages        runtime names, the packages each needs, their versions and whether they import
capture         a copy of the network at one scale with its BatchNorm mode baked in (per-image BatchNorm)
export          the ONNX export and the hash of the code that determines the graph
graph_cache     the verified on-disk cache of exported graphs
torch_backends  eager, eager_nchw, compile
graph_backends  ONNX Runtime and OpenVINO on the cached graph
backends        the registry of runtimes and :func:`prepare_runtime`
gate            the fidelity gate: a runtime's output on a probe image against eager's

Which runtime a cell uses (``auto``'s timed selection, its cache, a cell's :class:`RuntimeUse`) cannot move a number
and lives outside this package, in :mod:`srbench.runtime_choice`.
"""

from srbench.eval.runtimes.backends import BACKENDS, CPU_ONLY, Backend, prepare_runtime
from srbench.eval.runtimes.capture import PerImageNorm, capture_model, check_capturable, replace_batchnorm
from srbench.eval.runtimes.export import ONNX_OPSET, export_bytes, export_code_hash
from srbench.eval.runtimes.gate import (GATE_MIN_PSNR_VS_REFERENCE_DB, GATE_TOLERANCE_DB, GateResult,
                                        compare_outputs, fidelity_gate, probe_output)
from srbench.eval.runtimes.graph_cache import SHA256, graph_file, onnx_graph
from srbench.eval.runtimes.packages import (PACKAGES, RUNTIME_CHOICES, RUNTIMES, available_runtimes,
                                            check_runtime_name, package_versions, runtime_unavailable_reason)
from srbench.eval.runtimes.runner import Runner, RuntimeDeclined, RuntimeUnavailable

__all__ = ["BACKENDS", "CPU_ONLY", "GATE_MIN_PSNR_VS_REFERENCE_DB", "GATE_TOLERANCE_DB", "ONNX_OPSET", "PACKAGES",
           "RUNTIMES", "RUNTIME_CHOICES", "SHA256", "Backend", "GateResult", "PerImageNorm", "Runner",
           "RuntimeDeclined", "RuntimeUnavailable", "available_runtimes", "capture_model", "check_capturable",
           "check_runtime_name", "compare_outputs", "export_bytes", "export_code_hash", "fidelity_gate",
           "graph_file", "onnx_graph", "package_versions", "prepare_runtime", "probe_output", "replace_batchnorm",
           "runtime_unavailable_reason"]
