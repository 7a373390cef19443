"""Declared benchmark experiments: which models, weights, datasets, scales, protocol and measurements.

An experiment file is YAML, validated strictly (see :mod:`srbench.core.strict`). Example::

    name: benchmark                 # MLflow experiment name
    protocol: standard              # a preset of srbench.eval.protocol
    datasets: [Set5, Set14, B100, Urban100]
    scales: [2, 3, 4]
    measure: {latency: true, warmup: 1, repeats: 5, memory: true}
    runtime: auto                   # auto | eager | compile | onnxruntime | openvino (srbench.eval.runtimes)
    models:
      - {model: bicubic}
      - {model: ecdn, weights: ecdn, bn_modes: [eval, batch]}
      - {model: ecdn, weights: ecdn_half, datasets: [Set5, Set14, B100], scales: [4]}
      - {model: carn, weights: carn, optional: true}   # skipped (with a note) while its file is absent
      - {model: ecdn_m, weights: ecdn_m, scales: [4], runtimes: [eager, onnxruntime, openvino]}

An entry's ``datasets``/``scales`` default to the experiment's; the command line can narrow all of them. Runtimes:
an entry's ``runtime`` (default: the experiment's ``runtime``, default ``auto``) runs each of its cells; a
``runtimes`` list measures each cell once per runtime (separate cell runs, for the report's runtime comparison), and
a runtime in that list that cannot serve a cell skips it with a note, where a declared ``runtime`` is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.core.constants import BN_MODES
from srbench.eval.cell import CostSettings
from srbench.eval.protocol import PRESETS
from srbench.eval.runtimes import check_runtime_name
from srbench.core.names import suggest
from srbench.core.strict import from_mapping, load_yaml


@dataclass(frozen=True)
class ModelEntry:
    """One model and its weights (a catalogue name, a .pth path, ``run:<mlflow run id>``, or none for bicubic)."""

    model: str
    weights: str | None = None
    label: str | None = None
    group: int | None = None
    datasets: list[str] | None = None
    scales: list[int] | None = None
    bn_modes: list[str] = field(default_factory=lambda: ["eval"])
    protocol: str | None = None  # a preset for this entry only (default: the experiment's)
    optional: bool = False
    runtime: str | None = None  # default: the experiment's
    runtimes: list[str] | None = None  # several: one cell run per runtime (a runtime comparison)

    @property
    def display(self) -> str:
        """The row label of tables: the given label, else ``model (weights)``."""
        if self.label:
            return self.label
        name = self.model if not self.weights or self.weights == self.model else f"{self.model} ({self.weights})"
        return f"{name} [{self.protocol}]" if self.protocol else name


@dataclass(frozen=True)
class Experiment:
    """A whole benchmark: logged verbatim (resolved) as the parent run's ``experiment.yaml`` artifact."""

    name: str
    models: list[ModelEntry]
    datasets: list[str] = field(default_factory=lambda: ["Set5", "Set14", "B100", "Urban100"])
    scales: list[int] = field(default_factory=lambda: [2, 3, 4])
    protocol: str = "standard"
    device: str = "auto"
    measure: CostSettings = field(default_factory=CostSettings)
    description: str = ""
    crops: list[dict] = field(default_factory=list)
    runtime: str = "auto"

    def __post_init__(self) -> None:
        check_runtime_name(self.runtime, "runtime")
        for entry in self.models:
            if entry.runtime is not None and entry.runtimes is not None:
                raise SrbenchError(f"model {entry.model}: give runtime or runtimes, not both")
            for name in ([entry.runtime] if entry.runtime is not None else []) + list(entry.runtimes or []):
                check_runtime_name(name, f"model {entry.model}: runtime")
            if entry.runtimes is not None and not entry.runtimes:
                raise SrbenchError(f"model {entry.model}: runtimes is an empty list; list at least one or drop it")
        if self.protocol not in PRESETS:
            raise SrbenchError(f"protocol {self.protocol!r} is not a preset{suggest(self.protocol, PRESETS)}; "
                               f"known: {', '.join(PRESETS)}")
        for entry in self.models:
            if entry.protocol is not None and entry.protocol not in PRESETS:
                raise SrbenchError(f"model {entry.model}: protocol {entry.protocol!r} is not a preset"
                                   f"{suggest(entry.protocol, PRESETS)}; known: {', '.join(PRESETS)}")
            for scale in (entry.scales or []) + list(self.scales):
                if scale not in (2, 3, 4):
                    raise SrbenchError(f"scale {scale} is not supported; use 2, 3 or 4")
            for mode in entry.bn_modes:
                if mode not in BN_MODES:
                    raise SrbenchError(f"model {entry.model}: bn_mode {mode!r} is not one of {', '.join(BN_MODES)}")


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file; errors name the file and the key."""
    path = Path(path)
    return from_mapping(Experiment, load_yaml(path), str(path))


def entry_runtimes(entry: ModelEntry, exp: Experiment) -> list[str]:
    """The runtimes an entry's cells run on, in order (duplicates dropped): its list, its runtime, or the
    experiment's."""
    return list(dict.fromkeys(entry.runtimes or [entry.runtime or exp.runtime]))


def narrow(exp: Experiment, *, models: list[str] | None = None, datasets: list[str] | None = None,
           scales: list[int] | None = None, device: str | None = None, runtime: str | None = None,
           runtimes: list[str] | None = None) -> Experiment:
    """Apply command-line overrides: keep only the named models (by model or weights name), datasets and scales;
    ``runtime`` / ``runtimes`` replace every entry's (``--runtime``, ``--runtimes``)."""
    if runtime is not None and runtimes is not None:
        raise SrbenchError("--runtime and --runtimes: give one of them")
    for name in [runtime] if runtime is not None else runtimes or []:
        check_runtime_name(name, "--runtime" if runtime is not None else "--runtimes")
    entries = list(exp.models)
    if models:
        known = {e.model for e in entries} | {e.weights for e in entries if e.weights}
        for name in models:
            if name not in known:
                raise SrbenchError(f"--models: {name!r} is not in the experiment{suggest(name, known)}; "
                                   f"it has: {', '.join(sorted(known))}")
        entries = [e for e in entries if e.model in models or e.weights in models]

    def cut(values, keep):
        return values if values is None or not keep else [v for v in values if v in keep]

    entries = [replace(e, datasets=cut(e.datasets, datasets), scales=cut(e.scales, scales)) for e in entries]
    if runtime is not None or runtimes is not None:
        entries = [replace(e, runtime=None, runtimes=list(runtimes) if runtimes else None) for e in entries]
    return replace(exp, models=entries, datasets=list(datasets) if datasets else exp.datasets,
                   scales=list(scales) if scales else exp.scales, device=device or exp.device,
                   runtime=runtime or exp.runtime)
