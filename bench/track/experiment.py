"""Declared benchmark experiments: which models, weights, datasets, scales, protocol and measurements.

An experiment file is YAML, validated strictly (see :mod:`srbench.core.strict`). Example::

    name: benchmark                 # MLflow experiment name
    protocol: standard              # a preset of srbench.eval.protocol
    datasets: [Set5, Set14, B100, Urban100]
    scales: [2, 3, 4]
    measure: {latency: true, warmup: 1, repeats: 5, memory: true}
    metrics: [psnr, ssim, lpips]    # optional; default: LPIPS on Table 1's cells only (srbench.track.metric_plan)
    runtime: auto                   # auto | eager | compile | onnxruntime | openvino (srbench.eval.runtimes)
    models:
      - {model: bicubic}
      - {model: ecdn, weights: ecdn, bn_modes: [eval, batch]}
      - {model: ecdn, weights: ecdn_half, datasets: [Set5, Set14, B100], scales: [4]}
      - {model: carn, weights: carn, optional: true}   # skipped (with a note) while its file is absent
      - {model: carn_m, weights: carn_m, ensemble: x8}  # the self-ensemble, row "carn_m+"
      - {model: examples/tiny_sr.py:build, label: TinySR}   # an external model (srbench.models.external)
      - {model: ecdn_m, weights: runs/ema.pth, weights_key: params_ema, scales: [4]}
      - {model: ecdn_m, weights: ecdn_m, scales: [4], runtimes: [eager, onnxruntime, openvino]}

An entry's ``datasets``/``scales`` default to the experiment's; the command line can narrow all of them. ``model`` is
a registered name, an external builder (``path/file.py:builder``, ``package.module:builder``) or an installed
``srbench.models`` entry point. ``weights_key`` picks the entry of a checkpoint that wraps its state_dict
(``params``/``params_ema``...); a single-scale state_dict file loads when the entry declares its one scale.
``ensemble`` (``x8``), ``tile`` and ``tile_overlap`` are inference knobs (:mod:`srbench.eval.inference`); tiling is
refused with BN mode ``batch``.
Runtimes: an entry's ``runtime`` (default: the experiment's ``runtime``, default ``auto``) runs each of its
cells; a ``runtimes`` list measures each cell once per runtime (separate cell runs, for the report's runtime
comparison), and a runtime in that list that cannot serve a cell skips it with a note, where a declared
``runtime`` is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.core.constants import BN_MODES
from srbench.eval.cell import CostSettings
from srbench.eval.inference import DEFAULT_TILE_OVERLAP, Inference
from srbench.eval.protocol import PRESETS
from srbench.eval.runtimes import check_runtime_name
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
    weights_key: str | None = None  # the entry of a wrapped checkpoint (params, params_ema, state_dict, ...)
    ensemble: str | None = None  # x8: the geometric self-ensemble (rows "model+")
    tile: int | None = None  # run on tiles of this many LR pixels
    tile_overlap: int = DEFAULT_TILE_OVERLAP

    @property
    def inference(self) -> Inference:
        """The entry's inference knobs (:mod:`srbench.eval.inference`)."""
        return Inference(ensemble=self.ensemble, tile=self.tile, tile_overlap=self.tile_overlap)
    runtime: str | None = None  # default: the experiment's
    runtimes: list[str] | None = None  # several: one cell run per runtime (a runtime comparison)

    @property
    def display(self) -> str:
        """The row label of tables: the given label, else ``model (weights)`` (``model+`` with the ensemble)."""
        if self.label:
            return self.label
        inference = self.inference
        model = self.model + ("+" if inference.ensemble else "")
        name = model if not self.weights or self.weights == self.model else f"{model} ({self.weights})"
        name = f"{name} [{self.protocol}]" if self.protocol else name
        return name + inference.tile_label


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

    runtime: str = "auto"

    def __post_init__(self) -> None:
        from srbench.track.tracking import check_experiment_name

        check_experiment_name(self.name, "name")
        for key in ("models", "datasets", "scales"):
            if not getattr(self, key):
                raise SrbenchError(f"{key}: the list is empty, so the experiment would do nothing; list at least one"
                                   + (" (or drop the key for the default)" if key != "models" else ""))
        check_metrics(self.metrics, "metrics")
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
            for key in ("datasets", "scales", "bn_modes"):
                if getattr(entry, key) is not None and not getattr(entry, key):
                    raise SrbenchError(f"model {entry.model}: {key} is an empty list, so the entry would do nothing; "
                                       f"list at least one or drop the key for the default")
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
            try:
                inference = entry.inference
            except SrbenchError as exc:
                raise SrbenchError(f"model {entry.model}: {exc}") from None
            for mode in entry.bn_modes:
                inference.check_bn_mode(mode, f"model {entry.model}")


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file; errors name the file and the key."""
    path = Path(path)
    return from_mapping(Experiment, load_yaml(path), str(path))


def entry_runtimes(entry: ModelEntry, exp: Experiment) -> list[str]:
    """The runtimes an entry's cells run on, in order (duplicates dropped): its list, its runtime, or the
    experiment's."""
    return list(dict.fromkeys(entry.runtimes or [entry.runtime or exp.runtime]))


def cell_bn_modes(entry: ModelEntry, scale: int) -> tuple[list[str], dict[str, str]]:
    """The BN modes an entry's cells run in at ``scale``, and a skip note per listed mode that would repeat a cell:
    a field model has no BatchNorm (:mod:`srbench.models.zoo`), so its first listed mode is its one cell."""
    from srbench.models.zoo import is_zoo

    modes = list(entry.bn_modes[:1] if is_zoo(entry.model) else entry.bn_modes)
    return modes, {m: f"x{scale} bn={m}: no BatchNorm, the same cell as bn={modes[0]}"
                   for m in entry.bn_modes if m not in modes}


def narrow(exp: Experiment, *, models: list[str] | None = None, datasets: list[str] | None = None,
           scales: list[int] | None = None, device: str | None = None, runtime: str | None = None,
           runtimes: list[str] | None = None) -> Experiment:
    """Apply command-line overrides: keep only the named models (by model or weights name), datasets and scales;
    ``runtime`` / ``runtimes`` replace every entry's (``--runtime``, ``--runtimes``).

    An entry whose own ``datasets``/``scales`` share nothing with the narrowing is dropped; narrowing that leaves
    nothing to run at all is an error naming the options, never a silent no-op.
    """
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

    if models and scales:
        _check_released_scales(models, scales)
    entries = [replace(e, datasets=cut(e.datasets, datasets), scales=cut(e.scales, scales)) for e in entries]
    entries = [e for e in entries if e.datasets != [] and e.scales != []]
    if not entries:
        given = " ".join(f"--{k} {' '.join(map(str, v))}" for k, v in
                         (("models", models), ("datasets", datasets), ("scales", scales)) if v)
        raise SrbenchError(f"{given}: no model entry of experiment {exp.name!r} is left to run (their own datasets "
                           "and scales share nothing with these); widen the selection")
    if runtime is not None or runtimes is not None:
        entries = [replace(e, runtime=None, runtimes=list(runtimes) if runtimes else None) for e in entries]
    return replace(exp, models=entries, datasets=list(datasets) if datasets else exp.datasets,
                   scales=list(scales) if scales else exp.scales, device=device or exp.device,
                   runtime=runtime or exp.runtime)


def _check_released_scales(models: list[str], scales: list[int]) -> None:
    """``--models rlfn --scales 2``: a field model asked explicitly for a scale it has no released weights for is an
    error (in an experiment's own lists it is a skipped cell with a note)."""
    from srbench.models.zoo import is_zoo, zoo_scales

    for name in models:
        missing = [s for s in scales if is_zoo(name) and s not in zoo_scales(name)]
        if missing:
            raise SrbenchError(f"--models {name} --scales {' '.join(map(str, scales))}: model {name!r} has released "
                               f"weights only at x{', x'.join(map(str, zoo_scales(name)))}; none at "
                               f"x{', x'.join(map(str, missing))}")


def with_weights_key(exp: Experiment, key: str) -> Experiment:
    """``--weights-key``: set ``weights_key`` on every entry whose weights are a file path (not a catalogue name,
    ``run:`` weights or none)."""
    from srbench.models.weights import is_catalogue_name

    def is_path(spec: str | None) -> bool:
        return bool(spec) and spec != "none" and not spec.startswith("run:") and not is_catalogue_name(spec)

    return replace(exp, models=[replace(e, weights_key=key) if is_path(e.weights) else e for e in exp.models])
