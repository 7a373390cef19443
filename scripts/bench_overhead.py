"""Harness overhead of `srbench benchmark`: total wall time versus time inside the models' forward passes.

Runs the given experiment (default: the quick Set5 experiment, latency and memory measurements off so that only the
evaluation path is timed) against a fresh temporary MLflow store, then reads the per-dataset forward-pass seconds
back from MLflow and prints the ratio. Everything that is not a forward pass (image decoding, LR loading, quantizing,
PSNR/SSIM, MLflow writes, model building) is overhead.

    .venv/bin/python scripts/bench_overhead.py [--experiment experiments/quick.yaml] [--models ...] [--scales ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default="experiments/quick.yaml")
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--scales", nargs="+", type=int)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from srbench.track import tracking
    from srbench.track.experiment import load_experiment, narrow
    from srbench.track.runner import run_benchmark

    exp = narrow(load_experiment(args.experiment), models=args.models, datasets=args.datasets, scales=args.scales,
                 device=args.device)
    exp = dataclasses.replace(exp, measure=dataclasses.replace(exp.measure, latency=False, memory=False), crops=[])
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        start = time.perf_counter()
        outcomes = run_benchmark(exp, tracking_uri=uri, progress=False)
        wall = time.perf_counter() - start
        client = tracking.client(uri)
        forward = sum(v for o in outcomes if o.run_id
                      for k, v in tracking.retrying(client.get_run)(o.run_id).data.metrics.items()
                      if k.startswith("forward_s."))
    cells = sum(1 for o in outcomes if o.run_id)
    print(f"cells: {cells}  wall: {wall:.1f} s  forward passes: {forward:.1f} s  "
          f"overhead: {wall - forward:.1f} s ({(wall - forward) / cells:.2f} s per cell)")
    print(f"wall / forward = {wall / forward:.2f}x   (1.00x would be a harness with no overhead)")


if __name__ == "__main__":
    main()
