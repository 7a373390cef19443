"""The ONNX graph cache: one file per (network, weights, scale, BN mode, export code), verified before it is used.

The export is stored under ``cache_dir`` in a file named by the weights' sha256, the scale, the BN mode and
:func:`srbench.eval.runtimes.export.export_code_hash`, written atomically (``srbench.core.atomic``, flushed to disk)
with a JSON sidecar holding the file's sha256 and identity. A cached file is used only when the sidecar matches its
bytes; otherwise it is exported again.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import torch
from torch import nn

from srbench.core.atomic import write_bytes_atomic
from srbench.core.errors import SrbenchError
from srbench.eval.runtimes.capture import capture_model, check_capturable
from srbench.eval.runtimes.export import ONNX_OPSET, export_bytes, export_code_hash
from srbench.models.common import check_scale

SHA256 = re.compile(r"[0-9a-f]{64}")


def graph_file(cache_dir: Path, model: nn.Module, *, scale: int, bn_mode: str, weights_sha256: str) -> Path:
    """The cache path of the model's ONNX graph at ``scale`` in ``bn_mode``."""
    arch = re.sub(r"[^A-Za-z0-9_.-]", "_", str(getattr(model, "arch", type(model).__name__)))
    return Path(cache_dir) / f"{arch}-{weights_sha256}-x{scale}-{bn_mode}-{export_code_hash(model)}.onnx"


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


def onnx_graph(model: nn.Module, *, scale: int, bn_mode: str, weights_sha256: str, cache_dir: Path,
               runtime: str = "onnx") -> tuple[Path, bytes, bool]:
    """The verified ONNX graph of ``model`` at ``scale`` in ``bn_mode``: (path, bytes, exported now?).

    Reuses the cached file when its sidecar sha256 matches; otherwise exports and writes file and sidecar atomically.
    """
    if not isinstance(weights_sha256, str) or not SHA256.fullmatch(weights_sha256):
        raise SrbenchError(f"weights_sha256={weights_sha256!r}: expected 64 lowercase hex digits (the sha256 of the "
                           f"weights file) to name the ONNX cache")
    check_scale(model, scale)
    check_capturable(model, runtime)
    path = graph_file(cache_dir, model, scale=scale, bn_mode=bn_mode, weights_sha256=weights_sha256)
    identity = {"arch": str(getattr(model, "arch", type(model).__name__)), "weights_sha256": weights_sha256,
                "scale": scale, "bn_mode": bn_mode, "export_code": export_code_hash(model),
                "torch": torch.__version__, "opset": ONNX_OPSET}
    data = _read_verified(path, identity)
    if data is not None:
        return path, data, False
    data = export_bytes(capture_model(model, scale, bn_mode), runtime)
    write_bytes_atomic(path, data, fsync=True)
    write_bytes_atomic(_sidecar(path), json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "identity": identity},
                                                  indent=1, sort_keys=True).encode(), fsync=True)
    return path, data, True
