"""Harness overhead of `srbench benchmark`: total wall time versus time inside the models' forward passes.

Runs the given experiment (default: the quick Set5 experiment; `--experiment experiments/benchmark.yaml` for the
full default one) against a fresh temporary MLflow store, with latency and memory measurements off so that only the
evaluation path is timed, then reads the per-dataset forward-pass seconds (``forward_s.<Set>``) back from MLflow and
prints the harness overhead: everything that is not a forward pass (opening the store, building models, choosing
runtimes, counting complexity, image decoding, LR loading, quantizing, PSNR/SSIM, per-image CSVs, MLflow writes).
Creating the temporary store (MLflow's schema migrations, once per store) and the imports are timed apart.

    .venv/bin/python scripts/bench_overhead.py [--experiment experiments/quick.yaml] [--models ...] [--scales ...]
                                               [--runtime auto|eager|...]

The runtime choices and ONNX exports are read from the store's cache (``$SRBENCH_CACHE``), so a first run also
counts the probes of ``auto``; run it twice for the steady state.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

START = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default="experiments/quick.yaml")
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--scales", nargs="+", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--runtime", help="every cell on this runtime (default: the experiment's)")
    args = parser.parse_args()

    from srbench.track import tracking
    from srbench.track.experiment import load_experiment, narrow
    from srbench.track.runner import run_benchmark

    exp = narrow(load_experiment(args.experiment), models=args.models, datasets=args.datasets, scales=args.scales,
                 device=args.device, runtime=args.runtime)
    exp = dataclasses.replace(exp, measure=dataclasses.replace(exp.measure, latency=False, memory=False), crops=[])
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        imported = time.perf_counter() - START
        created = time.perf_counter()
        tracking.client(uri)  # importing MLflow, then a new store's schema migrations (~5 s): once per store
        created = time.perf_counter() - created
        start = time.perf_counter()
        outcomes = run_benchmark(exp, tracking_uri=uri, progress=False)
        wall = time.perf_counter() - start
        client = tracking.client(uri)
        runs = [tracking.retrying(client.get_run)(o.run_id) for o in outcomes if o.run_id]
    forward = sum(v for run in runs for k, v in run.data.metrics.items() if k.startswith("forward_s."))
    images = sum(v for run in runs for k, v in run.data.metrics.items() if k.startswith("n_images."))
    cells = len(runs)
    runtimes = sorted({run.data.tags.get("srbench.runtime", "?") for run in runs})
    overhead = wall - forward
    print(f"cells: {cells} ({int(images)} images; runtimes: {', '.join(runtimes)})  wall: {wall:.1f} s  "
          f"forward passes: {forward:.1f} s  (not counted: imports {imported:.1f} s, importing MLflow and creating "
          f"the store {created:.1f} s)")
    print(f"harness overhead: {overhead:.1f} s = {overhead / forward:.1%} of the forward time "
          f"({overhead / max(cells, 1):.2f} s per cell, {1e3 * overhead / max(images, 1):.0f} ms per image)")
    print(f"wall / forward = {wall / forward:.2f}x   (1.00x would be a harness with no overhead)")


if __name__ == "__main__":
    main()
