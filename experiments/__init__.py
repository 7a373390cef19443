"""The declared experiments: default benchmark, quick subset, runtime comparison, ablations and training recipes.

Data files only (YAML). This folder installs as ``srbench.experiments`` (pyproject's package-dir), so a wheel ships
the same files the checkout has; :func:`srbench.core.store.experiment_path` finds them when a command's default
(``experiments/benchmark.yaml``) does not exist in the working folder.
"""
