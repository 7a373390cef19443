"""The base layer: what every other package needs and that imports nothing of the project.

Modules: :mod:`~srbench.core.errors` (the one user-facing exception), :mod:`~srbench.core.names` ("did you mean"
for unknown names), :mod:`~srbench.core.strict` (typed YAML -> dataclass, unknown keys rejected),
:mod:`~srbench.core.constants` (vocabularies shared by several layers), :mod:`~srbench.core.store` (where the data
store, the mirror and the repository are), :mod:`~srbench.core.hashing` (file checksums),
:mod:`~srbench.core.code_identity` (every hash of code: fingerprints, import closures), :mod:`~srbench.core.atomic`
(atomic file writes) and :mod:`~srbench.core.imresize` (MATLAB-compatible bicubic, needed both by the ``bicubic``
model and by LR generation).

Layers (tests/test_layers.py enforces them on every import, also those inside functions): ``core`` <- ``data``,
``models`` (neither imports the other) <- ``eval`` <- ``runtime_choice`` <- ``track`` <- ``api`` <- ``train`` <-
``report`` <- ``commands`` <- ``cli``.
"""
