"""Identity of a benchmark cell, so that finished work is found again and never recomputed.

A cell is one (model, weights, BN mode, scale) evaluated on a list of datasets. Its key hashes everything that can
change its numbers: the model and build arguments, the weights' sha256, every protocol knob, the content fingerprint
of each dataset's HR and LR files, the measurement settings and device, and the code version (a hash of the source
files on the measurement path, so editing the README does not invalidate results but editing a metric does).
The sources are hashed as syntax trees without docstrings, so comments, docstrings and formatting do not count.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json

from data.store import REPO_ROOT

# Source files whose change can change a measured number.
MEASUREMENT_SOURCES = (
    "models/registry.py", "models/common.py", "models/carn.py", "models/ecdn.py", "models/bicubic.py", "models/bn.py",
    "models/complexity.py", "data/datasets.py", "data/images.py", "data/imresize.py", "bench/evaluate.py",
    "bench/measure.py", "bench/metrics.py", "bench/protocol.py", "bench/latency.py")


def code_fingerprint(source: str) -> str:
    """The source's syntax tree without docstrings, as text: what the code does, not how it is documented."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A short hash of the measurement-path sources (see MEASUREMENT_SOURCES), docstrings and comments excluded."""
    digest = hashlib.sha256()
    for entry in MEASUREMENT_SOURCES:
        digest.update(entry.encode())
        digest.update(code_fingerprint((REPO_ROOT / entry).read_text()).encode())
    return digest.hexdigest()[:12]


def cell_key(**identity) -> str:
    """sha256 (first 16 hex digits) of the cell's identity, serialised canonically."""
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
