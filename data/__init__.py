"""Datasets: the benchmark folder layout, preparation (mirror or download), MATLAB-compatible bicubic, training h5."""
