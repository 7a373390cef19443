"""A cell's runtime (:class:`RuntimeUse`): what was asked, what runs, and why; used by the benchmark and
``srbench evaluate``.

:func:`choose_runtime` names it (a declared runtime as it is; ``auto`` from its stored or cached choice, probing only
without one) without preparing anything, so a warm rerun finds its cells by key at no cost; :func:`prepare_use`
prepares it when a cell must be measured, gating a declared runtime first. The probe of the gate and of auto's timing
is a fixed image (:func:`probe_sample`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from srbench.core.errors import SrbenchError
from srbench.eval.protocol import Protocol
from srbench.eval.runtimes import (SHA256, Runner, RuntimeDeclined, check_runtime_name, fidelity_gate,
                                   package_versions, prepare_runtime)
from srbench.runtime_choice.cache import choice_key, choice_path, read_choice, valid_choice, write_choice
from srbench.runtime_choice.selection import Selection, default_candidates, select_runtime

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
    return weights_sha256 if isinstance(weights_sha256, str) and SHA256.fullmatch(weights_sha256) else None


def _label(model: nn.Module, scale: int, bn_mode: str) -> str:
    return f"{getattr(model, 'arch', type(model).__name__)} x{scale} (bn={bn_mode})"


def choose_runtime(model: nn.Module | None, requested: str, *, scale: int, bn_mode: str, device: torch.device | str,
                   weights_sha256: str | None, cache_dir: Path | str, probe: Callable[[], Probe],
                   protocol: Protocol | None = None, candidates: tuple[str, ...] | None = None,
                   stored: Callable[[str], dict | None] | None = None,
                   select: Callable[..., Selection] = select_runtime) -> RuntimeUse:
    """Which runtime serves ``model`` at ``scale`` in ``bn_mode``: a declared one as it is (checked and gated when
    prepared, :func:`prepare_use`), or ``auto``'s choice (:func:`select_runtime`, cached; ``probe()`` is called only
    when it must probe). Parameter-free models (bicubic) are eager without probing. ``model`` is needed for
    ``auto`` only (its choice is keyed by the network's export code). ``stored(key)``: the choice already recorded
    for ``key`` where every machine sees it (the tracking store), or None; it wins over this machine's cache (which
    it then replaces), so every shard and requeue of an experiment runs a network on the same runtime. ``select``:
    what probes (:func:`select_runtime`, or :func:`srbench.runtime_choice.apart.select_runtime_apart` to probe in a
    child process)."""
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
    path = choice_path(cache_dir, key)
    record = valid_choice(stored(key), key) if stored is not None else None
    if record is not None:
        write_choice(path, record)
    else:
        record = read_choice(path, key)
    if record is not None:
        selection = Selection(**record, cached=True)
    else:
        sample = probe()
        selection = select(model, scale=scale, bn_mode=bn_mode, device=device, weights_sha256=sha,
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
