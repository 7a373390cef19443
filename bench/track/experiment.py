"""Declared benchmark experiments: which models, weights, datasets, scales, protocol and measurements.

An experiment file is YAML, validated strictly (see :mod:`srbench.core.strict`). Example::

    name: benchmark                 # MLflow experiment name
    protocol: standard              # a preset of srbench.eval.protocol
    datasets: [Set5, Set14, B100, Urban100]
    scales: [2, 3, 4]
    measure: {latency: true, warmup: 1, repeats: 5, memory: true}
    metrics: [psnr, ssim, lpips]    # optional; default: LPIPS on Table 1's cells only (srbench.track.metric_plan)
    models:
      - {model: bicubic}
      - {model: ecdn, weights: ecdn, bn_modes: [eval, batch]}
      - {model: ecdn, weights: ecdn_half, datasets: [Set5, Set14, B100], scales: [4]}
      - {model: carn, weights: carn, optional: true}   # skipped (with a note) while its file is absent

An entry's ``datasets``/``scales`` default to the experiment's; the command line can narrow all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.core.constants import BN_MODES
from srbench.eval.cell import CostSettings
from srbench.eval.protocol import PRESETS
from srbench.core.names import suggest
from srbench.core.strict import from_mapping, load_yaml
from srbench.track.metric_plan import check_metrics


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
    metrics: list[str] | None = None  # e.g. [psnr, ssim, lpips] (default: the experiment's, else metric_plan's rule)
    optional: bool = False

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
    metrics: list[str] | None = None  # see srbench.track.metric_plan

    def __post_init__(self) -> None:
        check_metrics(self.metrics, "metrics")
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
            check_metrics(entry.metrics, f"model {entry.model}: metrics")
            for mode in entry.bn_modes:
                if mode not in BN_MODES:
                    raise SrbenchError(f"model {entry.model}: bn_mode {mode!r} is not one of {', '.join(BN_MODES)}")


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file; errors name the file and the key."""
    path = Path(path)
    return from_mapping(Experiment, load_yaml(path), str(path))


def narrow(exp: Experiment, *, models: list[str] | None = None, datasets: list[str] | None = None,
           scales: list[int] | None = None, device: str | None = None) -> Experiment:
    """Apply command-line overrides: keep only the named models (by model or weights name), datasets and scales."""
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
    return replace(exp, models=entries, datasets=list(datasets) if datasets else exp.datasets,
                   scales=list(scales) if scales else exp.scales, device=device or exp.device)
