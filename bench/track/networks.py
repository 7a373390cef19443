"""The one path that loads a network and prepares its runtime, for the benchmark, ``srbench evaluate``
(:func:`srbench.api.evaluation.evaluate_named`) and ``srbench explain``.

A :class:`Network` names a network by content and loads it (:meth:`Network.load`: weights loaded strictly, prepared
for inference); :class:`srbench.runtime_choice.CellRuntimes` decides its runtime (``use``) and prepares it through the
fidelity gate (``runner``); :func:`ready` does both, turning a declared runtime that declines into a one-line error.
The benchmark calls the two steps apart: the decision names the cell's key, and only a cell that is not reused is
prepared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from srbench.eval.inference import Inference
from srbench.eval.protocol import Protocol
from srbench.eval.runtimes import RuntimeDeclined
from srbench.eval.weights import ResolvedWeights, load_eval_model, network_digest
from srbench.runtime_choice import CellRuntimes, RuntimeUse, declined_error


@dataclass(frozen=True)
class Network:
    """A network to evaluate, named by content: the model, its resolved weights (sha256), the group override, the
    checkpoint key and the inference knobs (ensemble, tiling)."""

    model: str
    weights: ResolvedWeights
    group: int | None = None
    weights_key: str | None = None
    inference: Inference = field(default_factory=Inference)

    @property
    def identity(self) -> tuple:
        """What one in-memory network and its runtime decisions are keyed by (never the weights' name)."""
        return (self.model, self.weights.sha256, self.group, self.weights_key, self.inference)

    @property
    def digest(self) -> str:
        """The sha256 a captured runtime graph is keyed by (:func:`srbench.eval.weights.network_digest`)."""
        return network_digest(self.model, self.weights, self.weights_key)

    def load(self, device: torch.device, scales) -> torch.nn.Module:
        """The network built for ``scales``, weights loaded strictly, ready for inference on ``device``
        (:func:`srbench.eval.weights.load_eval_model`)."""
        return load_eval_model(self.model, self.weights, device=device, group=self.group, scales=tuple(scales),
                               weights_key=self.weights_key, inference=self.inference)


def ready(runtimes: CellRuntimes, net: Network, requested: str, model: torch.nn.Module, *, scale: int, bn_mode: str,
          dataset: str, protocol: Protocol, label: str) -> RuntimeUse:
    """``model`` (the loaded ``net``) on the runtime ``requested`` decides, prepared: the decision, with the prepared
    runtime as ``use.runner``; a runtime that declines is a one-line error (auto falls back instead)."""
    where = dict(scale=scale, bn_mode=bn_mode, weights_sha256=net.digest, dataset=dataset, protocol=protocol)
    use = runtimes.use(net.identity, requested, lambda: model, label=label, **where)
    try:
        runtimes.runner(net.identity, use, model, **where)
    except RuntimeDeclined as exc:
        raise declined_error(exc, model, scale, bn_mode) from exc
    return use
