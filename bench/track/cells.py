"""Identity of a benchmark cell, so that finished work is found again and never recomputed.

A cell is one (model, weights, BN mode, scale) evaluated on a list of datasets. Its key hashes everything that can
change its numbers: the model and build arguments, the weights' sha256, every protocol knob, the content fingerprint
of each dataset's HR and LR files, the measurement settings and device (GPU model, or CPU model and thread count), the
library versions (:func:`srbench.eval.environment.measurement_environment`), and the code version (a hash of the import closure
of the measurement package ``srbench.eval``, so editing the README does not invalidate results but editing a metric does).
The sources are hashed as syntax trees without docstrings, so comments, docstrings and formatting do not count.
"""

from __future__ import annotations

import hashlib
import json

from srbench.core.code_identity import closure_version

#: the package whose import closure is the measurement code (the runtime choice, srbench.runtime_choice, is outside it)
MEASUREMENT_PACKAGE = "srbench.eval"


def code_version() -> str:
    """A short hash of the measurement package's import closure (``srbench.eval`` and every project module it
    imports, at any depth: models, data, core), docstrings and comments excluded
    (:func:`srbench.core.code_identity.closure_version`)."""
    return closure_version(MEASUREMENT_PACKAGE)


def cell_key(**identity) -> str:
    """sha256 (first 16 hex digits) of the cell's identity, serialised canonically."""
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
