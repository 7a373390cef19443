"""Datasets: the benchmark folder layout (HR/LR pairs, generated LR, fingerprints), image I/O, filling the store
(mirror or download, sha256-checked) and training h5 preparation. Depends only on :mod:`srbench.core`."""
