"""The released checkpoints as data, and strict, checksum-verified loading with one-line errors.

``CATALOGUE`` records, per checkpoint: the architecture and build arguments it needs, where it comes from, how to
verify it (sha256, or the git blob sha1 where only that is known), its parameter count and the reference numbers
published for it (with their source), so reports can put "paper" columns beside measured ones.
Every failure (missing, truncated, tampered or mismatched file) is a :class:`SrbenchError` naming the file.
Checkpoint files of other toolkits (the state_dict under ``params``, ``params_ema``, ``state_dict``, ``model`` or
``net``, keys prefixed ``module.``) are unwrapped by :func:`unwrap_checkpoint`, with a note saying how.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import torch
from torch import nn

from srbench.core.errors import SrbenchError
from srbench.core.hashing import git_blob_sha1
from srbench.core.hashing import sha256_file as file_sha256  # public here too: chunked sha256 of a file
from srbench.core.store import weights_dir
from srbench.core.names import unknown_name_error
from srbench.models import published
from srbench.models.field import FAMILIES, field_records, release
from srbench.models.records import WeightsRecord

_CARN_REPO = "https://raw.githubusercontent.com/nmhkahn/CARN-pytorch/40d3514f81cccd680d846cd5ab07af35f2c8e0e2"
_ECDN_REPO = "https://raw.githubusercontent.com/ISTHATDISTANCE/CARN-pytorch/f3e0d0f7f6396a1d5d80c8938d1ff959f11bcd9d"
_MULTI = (2, 3, 4)

_CARN_PAPER = published.CARN_TABLE.cite
_ECDN_REPORT = "ECDN report, Table 1 (parameter counts; its PSNR/LPIPS sums use a non-standard protocol)"


def _carn_paper(arch: str, params: int, mult_adds: tuple[float, float, float]) -> dict:
    """The CARN paper's row for one model: its printed PSNR/SSIM per set and scale (read from
    :mod:`srbench.models.published`, their one home), parameters and Mult-Adds in G (720p output) as printed."""
    metrics: dict = {"source": _CARN_PAPER, "params": params, "mult_adds": dict(zip(_MULTI, mult_adds))}
    metrics.update(published.grid(arch, published.CARN_TABLE))
    return metrics


# the CARN table's Params and MultAdds columns (published.CARN_TABLE)
_CARN_METRICS = _carn_paper("carn", 1_592_000, (222.8, 118.8, 90.9))
_CARN_M_METRICS = _carn_paper("carn_m", 412_000, (91.2, 46.1, 32.5))


#: (params, params_effective, Mult-Adds in G at x2/x3/x4 for a 720x1280 output) of each architecture's released build
_COMPLEXITY = {
    "carn": (1_591_963, 1_591_963, (222.8, 118.8, 90.9)),
    "carn_m": (414_811, 414_811, (91.2, 46.1, 32.5)),
    "ecdn": (694_555, 694_555, (123.0, 60.3, 40.5)),
    "ecdn_m": (417_499, 396_955, (72.4, 47.2, 44.8)),  # its c4 (20,544 parameters) is never called
}


def _record(name: str, arch: str, group: int, repo: str, sha256: str | None, git_blob_sha1: str,
            size: int | None, description: str, metrics: dict | None = None) -> WeightsRecord:
    params, effective, madds = _COMPLEXITY[arch]
    return WeightsRecord(name=name, arch=arch, build={"scales": _MULTI, "group": group}, filename=f"{name}.pth",
                         url=f"{repo}/checkpoint/{name}.pth", sha256=sha256, git_blob_sha1=git_blob_sha1,
                         bytes=size, params=params, params_effective=effective, mult_adds_g=dict(zip(_MULTI, madds)),
                         description=description, metrics=metrics or {})


CATALOGUE: dict[str, WeightsRecord] = {r.name: r for r in (
    _record("carn", "carn", 1, _CARN_REPO, None, "2b9fb1eb75a2fdd47c1a4cc75bc505a8fa4fb504", None,
            "CARN full, multi-scale, group 1, released with the CARN paper (not mirrored: verify by git blob sha1)",
            _CARN_METRICS),
    _record("carn_m", "carn_m", 4, _CARN_REPO,
            "d48a759a84509351facb6b7c6d5bd6edec98b98519b8c464ee4ab44d2ba964ff",
            "8d53d106ae139203ebc9c70bb5ec03c0e7cb84bd", 1_670_695,
            "CARN-M, multi-scale, group 4, released with the CARN paper", _CARN_M_METRICS),
    _record("carn_m_half", "carn_m", 4, _ECDN_REPO,
            "2cfe8cb228c696354059c1298ca14b07d61899a7a9346ae3f4892b1798413a35",
            "5f64371dfceff7823fcb2bcf558f6977accb6abf", 1_679_863,
            "CARN-M after about 1 GPU-day (inferred: the ECDN report's CARN_M_103000 row), multi-scale, group 4"),
    _record("ecdn", "ecdn", 4, _ECDN_REPO,
            "6bbe3bb2cfab69b8b5d82d77417a080350d98f83c68277f84ee1c8e681c521cb",
            "534d3f3ef2b74b13f4eec9601c7f7f2467484ac0", 2_873_115,
            "ECDN fully trained (about 2.5 GPU-days), multi-scale, group 4, L1 loss",
            {"source": _ECDN_REPORT, "params_effective": 694_555}),
    _record("ecdn_half", "ecdn", 4, _ECDN_REPO,
            "f23e68dc256ba6a42aaaf843b4a8dd9a604d121440621f4fc7ec58037c4340b3",
            "e8faf01c1f98890890c68602333f91a16c673d04", 2_873_115,
            "ECDN after about 1 GPU-day (inferred: the report's ECDN_92000 crops and 1-GPU-day row), multi-scale, "
            "group 4", {"source": _ECDN_REPORT, "params_effective": 694_555}),
    _record("ecdn_m", "ecdn_m", 4, _ECDN_REPO,
            "f8fba568c948463e99bd338478fb540099658b16ac59f1cc58dd47387d757bfd",
            "7c11231a9599ee51cdcaba6efc6178f1dce13dfc", 1_722_879,
            "ECDN-M fully trained (about 2.5 GPU-days), multi-scale, group 4, SmoothL1 loss",
            {"source": _ECDN_REPORT, "params_effective": 396_955}),
    _record("ecdn_m_half", "ecdn_m", 4, _ECDN_REPO,
            "abe1c816edce1a74333f59b2f9f5de7c269ade9f8c513258767d186f75d6ccc6",
            "024f8fb3ead1b1bad6d6a8b31018bbcf31505d09", 1_722_879,
            "ECDN-M after about 1 GPU-day (inferred: the report's ECDN_M_100000 crops and 1-GPU-day row), "
            "multi-scale, group 4", {"source": _ECDN_REPORT, "params_effective": 396_955}),
)}
CATALOGUE.update(field_records())  # the field's released files (srbench.models.field), one record per scale


class NoWeightsAtScale(SrbenchError):
    """A field model asked for a scale it has no released file for (an experiment skips the cell)."""


def get_weights(name: str, scale: int | None = None) -> WeightsRecord:
    """The catalogue record ``name``; unknown names raise with the closest match.

    A field model's name (``imdn``) names its released files, one per scale: ``scale`` picks one (``imdn_x2``);
    without a scale the largest is returned. A scale it has no file for raises :class:`NoWeightsAtScale`.
    """
    if name in FAMILIES:
        family = FAMILIES[name]
        scale = family.scales[-1] if scale is None else scale
        record = release(name, scale)
        if record is None:
            raise NoWeightsAtScale(f"model {name!r} has released weights only at x{', x'.join(map(str, family.scales))}"
                                   f"; none at x{scale}")
        return record
    if name not in CATALOGUE:
        raise unknown_name_error("weights", name, [*CATALOGUE, *FAMILIES])
    return CATALOGUE[name]


def weights_file(record: WeightsRecord) -> Path:
    """Path of the record's file in the store; raises if it has not been fetched."""
    path = weights_dir() / record.filename
    if not path.is_file():
        if record.sha256 is None:   # `make data` fetches only files it can check by sha256 (CARN's is unknown)
            raise SrbenchError(f"weights {record.name!r}: {path} not found; `make data` cannot fetch it: download "
                               f"{record.url} to that path by hand (it is checked by its git blob sha1 "
                               f"{record.git_blob_sha1})")
        raise SrbenchError(f"weights {record.name!r}: {path} not found; run `make data` or set SRBENCH_MIRROR "
                           f"(source: {record.url})")
    return path


def _check_digest(path: Path, kind: str, expected: str, actual: str) -> None:
    if actual != expected.lower():
        raise SrbenchError(f"{path}: {kind} mismatch: expected {expected}, got {actual}; the file is corrupt or not "
                           f"the expected checkpoint (delete it and run `make data`)")


def verify_file(path: str | PathLike, record: WeightsRecord) -> None:
    """Check a file against the record: sha256 when known, else the git blob sha1."""
    path = Path(path)
    if record.sha256:
        _check_digest(path, "sha256", record.sha256, file_sha256(path))
    else:
        _check_digest(path, "git blob sha1", record.git_blob_sha1, git_blob_sha1(path))


def _load_failure(exc: Exception) -> str:
    """A short reason for a failed ``torch.load``, on one line."""
    if isinstance(exc, pickle.UnpicklingError):  # weights_only refused: objects other than tensors, or garbage
        return "truncated, corrupt, or holds objects other than tensors"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:160]}" if lines else type(exc).__name__


def _first(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def _fit_report(model: nn.Module, state: Mapping[str, torch.Tensor]) -> str:
    """Empty when ``state`` fits ``model`` exactly; else a one-line summary of missing/unexpected/mismatched keys."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    parts = [f"{len(keys)} {what} ({_first(keys)})"
             for what, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                ("shape mismatches", mismatched)) if keys]
    return "; ".join(parts)


def _first_non_finite(state: Mapping[str, torch.Tensor]) -> str:
    """Empty when every floating-point tensor of ``state`` is finite; else the first bad key and how many of its
    values are NaN or Inf."""
    for key, value in state.items():
        if value.is_floating_point() or value.is_complex():
            bad = int(value.numel() - torch.isfinite(value).sum())
            if bad:
                return f"{key} ({bad} of {value.numel()} values)"
    return ""


#: Where other toolkits keep the state_dict inside a checkpoint file: BasicSR and KAIR save ``params`` and
#: ``params_ema``; PyTorch Lightning and much research code ``state_dict``; ``model`` and ``net`` are common too.
CHECKPOINT_KEYS = ("params", "params_ema", "state_dict", "model", "net")
#: The prefix ``nn.DataParallel`` / ``DistributedDataParallel`` put on every key.
PARALLEL_PREFIX = "module."


class CheckpointMismatch(SrbenchError):
    """A readable state_dict whose keys or shapes do not fit the architecture it is loaded into."""


def _is_state_dict(obj) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def unwrap_checkpoint(obj, path: str | PathLike, key: str | None = None) -> tuple[dict, list[str]]:
    """The state_dict inside a loaded checkpoint ``obj``, and notes saying how it was found.

    ``obj`` is a state_dict itself, or a mapping holding one under ``key`` (when given: any top-level key) or under
    exactly one of :data:`CHECKPOINT_KEYS`. Several candidates (``params`` and ``params_ema``) need ``key``. A
    ``module.`` prefix on every key (DataParallel) is removed. Anything else is a one-line error naming the file and
    the top-level keys found.
    """
    notes: list[str] = []
    if not isinstance(obj, Mapping):
        raise SrbenchError(f"{path}: not a state_dict (expected a mapping of parameter names to tensors, "
                           f"got {type(obj).__name__})")
    keys = [str(k) for k in obj]
    if _is_state_dict(obj):
        if key is not None:
            raise SrbenchError(f"{path}: the file is a plain state_dict (no entry {key!r} wraps it); drop the "
                               "weights key")
        state = dict(obj)
    elif key is not None:
        if key not in obj:
            raise SrbenchError(f"{path}: no entry {key!r}; top-level keys: {_first(keys, 12)}")
        if not _is_state_dict(obj[key]):
            raise SrbenchError(f"{path}: entry {key!r} is not a state_dict (got {type(obj[key]).__name__}); "
                               f"top-level keys: {_first(keys, 12)}")
        state = dict(obj[key])
        notes.append(f"state_dict taken from entry {key!r}")
    else:
        candidates = [k for k in CHECKPOINT_KEYS if k in obj and _is_state_dict(obj[k])]
        if len(candidates) > 1:
            raise SrbenchError(f"{path}: holds several state_dicts ({', '.join(candidates)}); pick one with "
                               "--weights-key (weights_key: in an experiment entry)")
        if not candidates:
            raise SrbenchError(f"{path}: not a state_dict, and none of {', '.join(CHECKPOINT_KEYS)} holds one; "
                               f"top-level keys: {_first(keys, 12)} (name the entry that holds the weights with "
                               "--weights-key)")
        state = dict(obj[candidates[0]])
        notes.append(f"state_dict taken from entry {candidates[0]!r}")
    if all(k.startswith(PARALLEL_PREFIX) for k in state):
        state = {k[len(PARALLEL_PREFIX):]: v for k, v in state.items()}
        notes.append(f"{PARALLEL_PREFIX!r} prefix (DataParallel) removed from every key")
    return state, notes


def load_checkpoint(model: nn.Module, path: str | PathLike, *, sha256: str | None = None,
                    key: str | None = None) -> nn.Module:
    """Load a state_dict file into ``model`` strictly (after checking ``sha256`` when given); returns the model.

    Only tensors are unpickled (``weights_only=True``). The file may wrap the state_dict as other toolkits save it
    (see :func:`unwrap_checkpoint`; ``key`` picks the entry); how it was unwrapped is printed as a note on stderr.
    Unreadable files, checksum mismatches and keys/shapes that do not fit the architecture raise a one-line
    :class:`SrbenchError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise SrbenchError(f"{path}: checkpoint not found")
    if sha256 is not None:
        _check_digest(path, "sha256", sha256, file_sha256(path))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to deserialise (truncation, garbage, legacy pickle) means the same thing
        raise SrbenchError(f"{path}: not a readable PyTorch checkpoint ({_load_failure(exc)})") from exc
    state, notes = unwrap_checkpoint(obj, path, key)
    if notes:
        print(f"note: {path}: {'; '.join(notes)}", file=sys.stderr)
    arch = getattr(model, "arch", type(model).__name__)
    problems = _fit_report(model, state)
    if problems:
        scales = getattr(model, "scales", "?")
        hint = ""
        if isinstance(scales, tuple) and len(scales) > 1:
            hint = ("; if the file holds a single-scale model, declare its scale (scales: [4] in the experiment "
                    "entry, or --scales 4)")
        raise CheckpointMismatch(f"{path}: does not fit architecture {arch!r} (built with scales={scales}): "
                                 f"{problems}{hint}")
    non_finite = _first_non_finite(state)
    if non_finite:
        raise SrbenchError(f"{path}: weights hold NaN or Inf values, first in {non_finite}; the checkpoint is "
                           "broken (diverged training or a damaged file) and cannot be evaluated: use another one")
    model.load_state_dict(state, strict=True)
    return model


def load_weights(model: nn.Module, weights: str | PathLike, *, key: str | None = None) -> nn.Module:
    """Load ``weights`` (a catalogue name, verified against its checksum, or a path to a .pth file) into ``model``;
    ``key`` picks the entry of a wrapped checkpoint file (see :func:`load_checkpoint`)."""
    if isinstance(weights, str) and is_catalogue_name(weights):
        scales = getattr(model, "scales", None)
        record = get_weights(weights, scales[0] if weights in FAMILIES and scales else None)
        arch = getattr(model, "arch", None)
        if arch is not None and arch != record.arch:
            raise SrbenchError(f"weights {record.name!r} are for architecture {record.arch!r}, not {arch!r}")
        path = weights_file(record)
        verify_file(path, record)
        return load_checkpoint(model, path, key=key)
    return load_checkpoint(model, weights, key=key)


def is_catalogue_name(spec: str) -> bool:
    """The one rule for a weights spec: a bare name (no suffix, no directory part) names a catalogue entry; anything
    else (``x.pth``, ``x.ckpt``, ``X.PTH``, ``dir/x``) is a path to a file."""
    return Path(spec).suffix == "" and Path(spec).name == spec
