"""The record of one released checkpoint (``WeightsRecord``): what it is, where it comes from, how to verify it, what
it costs. Its own module so that the catalogue of srbench's checkpoints (:mod:`srbench.models.weights`) and that of the
field's released models (:mod:`srbench.models.field`) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WeightsRecord:
    """One released checkpoint.

    ``build``: keyword arguments for ``create_model(arch, **build)``. Complexity of the network it builds, by the
    definitions of :mod:`srbench.models.complexity` (checked by ``tests/test_catalogue_schema.py``): ``params``, every
    parameter in the file (BatchNorm running statistics excluded); ``params_effective``, the parameters some forward
    pass at any of its scales uses (all heads); ``mult_adds_g``, G multiply-accumulates per scale for a 720x1280
    output, to 0.1 G. ``metrics``: published numbers for this checkpoint's model, with a ``source`` string:
    ``{"Set5": {2: (psnr, ssim), ...}, "mult_adds": {2: G, ...}, "params": n}`` (the CARN paper: its total, rounded
    to the thousand) or ``{"params_effective": n}`` (the ECDN report, which counts the parameters used); empty when
    none exist.

    The field's released models (:mod:`srbench.models.field`) fill the rest: ``input_range``, the range the network
    was trained on (1.0: [0, 1]; 255.0: [0, 255]; the harness converts, see :mod:`srbench.models.zoo`); ``licence``;
    ``repo``, ``commit`` and ``path`` of the released file; ``constructor``, the keyword arguments of the network class
    for this file (derived from the source at that commit); ``params_source``, where the printed parameter count in
    ``metrics["params"]`` comes from. srbench's own checkpoints keep the defaults (input in [0, 1]).
    """

    name: str
    arch: str
    build: dict
    filename: str
    url: str
    sha256: str | None
    git_blob_sha1: str
    bytes: int | None
    params: int
    params_effective: int
    mult_adds_g: dict[int, float]
    description: str
    metrics: dict = field(default_factory=dict)
    input_range: float = 1.0
    licence: str = ""
    repo: str = ""
    commit: str = ""
    path: str = ""
    constructor: dict = field(default_factory=dict)

    @property
    def scale(self) -> int | None:
        """The one scale of a single-scale record (the field's files); None for a multi-scale one."""
        scales = self.build.get("scales")
        return scales if isinstance(scales, int) else None
