"""srbench: an experiment-tracking benchmark harness for lightweight single-image super-resolution.

The folder ``bench/`` installs as the package ``srbench``; ``core/``, ``models/`` and ``data/`` install as
``srbench.core``, ``srbench.models`` and ``srbench.data`` (see pyproject.toml). Sub-packages by job:
``eval`` (measurement), ``track`` (MLflow, runner), ``train`` (trainer, ablations), ``report`` (tables, figures),
``commands`` (one module per CLI command) and ``cli``. This module imports nothing.
"""
