"""Resolve the ``weights`` of an experiment entry or of ``--weights`` into a verified file and build arguments.

A spec is one of: nothing (bicubic, or an untrained network), a catalogue name (``ecdn_m_half``: checksum-verified
file in the store), a path to a state_dict file, or ``run:<mlflow run id>[:best|final]`` (weights logged by
``srbench train``, built with the run's model, group and scale).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import SrbenchError


@dataclass(frozen=True)
class ResolvedWeights:
    """A verified weights file (or none) with what is needed to build and to log it."""

    name: str
    path: Path | None
    sha256: str
    source: str
    build: dict = field(default_factory=dict)

    @property
    def scales(self) -> tuple[int, ...]:
        scales = self.build.get("scales", (2, 3, 4))
        return (scales,) if isinstance(scales, int) else tuple(scales)


def resolve_weights(spec: str | None, model: str) -> ResolvedWeights:
    """Turn a weights spec for ``model`` into a ResolvedWeights (raises SrbenchError with what to do)."""
    from models.weights import CATALOGUE, get_weights, verify_file, weights_file
    from data.hashing import cached_sha256

    if spec is None or spec == "none":
        return ResolvedWeights(name="none", path=None, sha256="none", source="none", build={"scales": (2, 3, 4)})
    if spec.startswith("run:"):
        from bench.train import resolve_run_weights

        path, sha256, build = resolve_run_weights(spec)
        if build.get("model", model) != model:
            raise SrbenchError(f"weights {spec} were trained for model {build['model']!r}, not {model!r}")
        return ResolvedWeights(name=spec, path=Path(path), sha256=sha256, source=spec,
                               build={k: v for k, v in build.items() if k in ("scales", "group")})
    if spec in CATALOGUE or not (spec.endswith((".pth", ".pt")) or "/" in spec):
        record = get_weights(spec)  # unknown name -> closest match
        if record.arch != model:
            raise SrbenchError(f"weights {spec!r} are for {record.arch!r}, not {model!r}")
        path = weights_file(record)
        verify_file(path, record)
        return ResolvedWeights(name=spec, path=path, sha256=record.sha256 or cached_sha256(path), source=record.url,
                               build=dict(record.build))
    path = Path(spec).expanduser()
    if not path.is_file():
        raise SrbenchError(f"weights file {path} does not exist")
    return ResolvedWeights(name=path.stem, path=path.resolve(), sha256=cached_sha256(path), source=str(path),
                           build={"scales": (2, 3, 4)})
