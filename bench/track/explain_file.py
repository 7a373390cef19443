"""Declared ``srbench explain`` cells: an experiment file (``experiments/explain.yaml``, run by ``make explain``).

Format (unknown keys are errors, like every experiment file)::

    name: explain                 # MLflow experiment the runs go to (the report reads it)
    description: ...
    protocol: standard            # the protocol the deviations start from
    datasets: [Set14]             # every model on every dataset and scale
    scales: [4]
    pairs: true                   # also every pair of knobs that needs no new forward pass
    runtime: auto
    device: auto
    models:
      - {model: bicubic}
      - {model: carn, weights: carn, optional: true}   # optional: missing weights skip the entry with a note

Each (model, dataset, scale) is one explain run, logged with ``--log`` semantics (a finished run with the same key
is reused).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.core.strict import from_mapping, load_yaml


@dataclass
class ExplainEntry:
    """One model of an explain file."""

    model: str
    weights: str | None = None
    weights_key: str | None = None
    label: str | None = None
    optional: bool = False


@dataclass
class ExplainFile:
    """An explain experiment file (see the module docstring)."""

    models: list[dict]
    name: str = "explain"
    description: str = ""
    protocol: str = "standard"
    datasets: list[str] = field(default_factory=lambda: ["Set14"])
    scales: list[int] = field(default_factory=lambda: [4])
    pairs: bool = True
    runtime: str = "auto"
    device: str = "auto"

    def entries(self, where: str) -> list[ExplainEntry]:
        out = []
        for i, m in enumerate(self.models):
            if not isinstance(m, dict):
                raise SrbenchError(f"{where}.models[{i}]: expected a mapping such as {{model: carn_m}}")
            out.append(from_mapping(ExplainEntry, m, f"{where}.models[{i}]"))
        return out


def load_explain_file(path: str | Path) -> tuple[ExplainFile, list[ExplainEntry]]:
    """The file's settings and its model entries; bad keys and values are one-line errors naming the file."""
    where = str(path)
    spec = from_mapping(ExplainFile, load_yaml(path), where)
    if not spec.models:
        raise SrbenchError(f"{where}: models is empty; list at least one {{model: NAME}}")
    bad = [s for s in spec.scales if s not in (2, 3, 4)]
    if bad:
        raise SrbenchError(f"{where}.scales: {bad} not among 2, 3, 4")
    return spec, spec.entries(where)
