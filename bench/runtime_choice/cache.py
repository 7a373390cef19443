"""Auto's choices on disk: the key a choice is filed under, and reading and writing the choice files.

A choice is cached as JSON per (weights sha256, BN mode, scale, device, candidates and their package versions, export
code, gate tolerance), so a warm rerun neither probes nor lets timing noise change a choice. Scale is part of the key
because each scale is its own graph and its own gate (a benchmark cell is one scale).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from srbench.core.atomic import write_bytes_atomic
from srbench.eval.device import describe_device
from srbench.eval.runtimes import GATE_TOLERANCE_DB, RUNTIMES, export_code_hash, package_versions

#: runtimes whose preparation is paid again in every process (an ONNX export is cached on disk, a compile is not)
PER_PROCESS_PREP = ("compile",)
#: forward passes ``auto`` amortises a per-process preparation over: about one benchmark set (Set5 5, Set14 14,
#: B100 and Urban100 100 images) and the latency repeats of a cell
WORKLOAD_CALLS = 100
CHOICE_FIELDS = ("runtime", "key", "scale", "bn_mode", "device", "timings_ms", "gates", "declined")


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
    if set(candidates) & set(PER_PROCESS_PREP):
        identity["workload_calls"] = workload_calls
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def choice_path(cache_dir: Path | str, key: str) -> Path:
    """The file of the choice filed under ``key``."""
    return Path(cache_dir) / "runtime-choices" / f"{key}.json"


def valid_choice(record, key: str) -> dict | None:
    """``record``'s choice fields when it is a choice for ``key`` (from the cache or the store), else None."""
    if not isinstance(record, dict) or not set(CHOICE_FIELDS) <= set(record) or record["key"] != key \
            or record["runtime"] not in RUNTIMES:
        return None
    return {name: record[name] for name in CHOICE_FIELDS}


def read_choice(path: Path, key: str) -> dict | None:
    """The cached choice for ``key``; None when missing, unreadable or not a choice for this key (probe again)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return valid_choice(record, key)


def write_choice(path: Path, record: dict) -> None:
    """Write a choice record atomically (flushed to disk: other processes of a benchmark read it)."""
    write_bytes_atomic(path, json.dumps(record, indent=1, sort_keys=True, default=str).encode(), fsync=True)
