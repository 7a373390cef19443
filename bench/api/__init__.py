"""The public API of srbench (``import srbench``): the benchmark's protocol as functions, for training loops and
notebooks. Stable: these names and the fields of their results change only with a deprecation; everything else in
the package is internal and may change.

- :func:`evaluate` a module or a registered model on a dataset at a scale under a protocol -> :class:`EvaluationResult`
- :func:`score` a folder of SR images made elsewhere -> :class:`EvaluationResult`
- :func:`complexity` of a module or a registered model -> :class:`ComplexityProfile`
- :func:`load` a built-in, field or external model with its weights -> ``nn.Module``
- :func:`log_validation` a result into the active MLflow run under the benchmark's metric names

Layer: above the tracking layer (``srbench.track``), below the trainer (``srbench.train`` validates through it);
see ``tests/test_layers.py``. ``srbench`` re-exports these names lazily, so importing ``srbench.core`` stays cheap.
Documented in ``docs/api.md``.
"""

from srbench.api.evaluation import evaluate, score
from srbench.api.log import log_validation
from srbench.api.models import complexity, load
from srbench.api.results import ComplexityProfile, EvaluationResult, ImageScore
from srbench.eval.protocol import PRESETS, Protocol, get_protocol

__all__ = ["PRESETS", "ComplexityProfile", "EvaluationResult", "ImageScore", "Protocol", "complexity", "evaluate",
           "get_protocol", "load", "log_validation", "score"]
