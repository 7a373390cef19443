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

``--from-store [URI]`` measures nothing itself: it reads the newest finished invocation of ``--experiment``'s file
(``--experiment experiments/benchmark.yaml`` for ``make benchmark``) that computed cells, from a store that a real
run filled (default: the project's store; the MLflow experiment is the file's ``name``), and splits its
logged wall time into forward passes, the cost measurements (latency: warmup + repeats passes at the measured
size, estimated from the logged median; memory, where logged: one such pass, estimated the same way) and the harness (the rest of
each cell run) plus the time between cell runs (building models, ``auto``'s probes, ONNX exports, reused cells),
and the invocation's wall time over its forward time; where the invocation logged them, the probes and the runtime
preparations (a fresh clone's one-time work) are reported apart, with the ratio without them.
It is the figure for the full default experiment without running it a second time.
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
    parser.add_argument("--from-store", nargs="?", const="", metavar="URI",
                        help="analyse the newest logged invocation in this store instead (default: the project's)")
    args = parser.parse_args()
    if args.from_store is not None:
        from_store(args.from_store or None, args.experiment)
        return

    from srbench.track import tracking
    from srbench.track.experiment import load_experiment, narrow
    from srbench.track.benchmark import run_benchmark

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


def from_store(uri: str | None, experiment_file: str) -> None:
    """Split the newest finished invocation of ``experiment_file`` that computed cells (see the module docstring)."""
    import yaml

    from srbench.track import tracking
    from srbench.track.experiment import load_experiment
    from srbench.track.schema import CHOOSE_S, INPUTS_S, LATENCY, PEAK_MEM, PREPARE_S, SHARED_FROM_TAG

    name = load_experiment(experiment_file).name
    client = tracking.client(uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        raise SystemExit(f"no experiment {name!r} in {tracking.tracking_uri(uri)}")
    parents = client.search_runs([experiment.experiment_id], "tags.`srbench.kind` = 'benchmark' and "
                                 f"tags.`srbench.experiment_file` = '{experiment_file}' and "
                                 "attributes.status = 'FINISHED'", order_by=["attributes.start_time DESC"])
    for parent in parents:
        cells = client.search_runs([experiment.experiment_id],
                                   f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'", max_results=5000)
        if cells:
            break
    else:
        raise SystemExit(f"no finished invocation of {experiment_file} computed a cell in {name!r}")
    measure = yaml.safe_load(Path(client.download_artifacts(parent.info.run_id, "experiment.yaml")).read_text())
    measure = measure.get("measure", {})
    passes = (int(measure.get("warmup", 1)) + int(measure.get("repeats", 5))) * bool(measure.get("latency", True))
    seconds = lambda run: (run.info.end_time - run.info.start_time) / 1e3  # noqa: E731
    wall = seconds(parent)
    in_cells = sum(seconds(run) for run in cells)
    forward = sum(v for run in cells for k, v in run.data.metrics.items() if k.startswith("forward_s."))
    # the memory pass runs only where peak memory was logged (the PyTorch runtimes); a cell that reused another
    # cell's passes (tag srbench.shared_from) reused its latency and memory figures too and ran no cost pass
    own_cost = [run for run in cells if SHARED_FROM_TAG not in run.data.tags]
    cost = sum((passes + (PEAK_MEM in run.data.metrics)) * run.data.metrics.get(LATENCY, 0.0) / 1e3
               for run in own_cost)
    shared = len(cells) - len(own_cost)
    harness = in_cells - forward - cost
    print(f"invocation {parent.info.run_name!r} ({parent.info.run_id}): {len(cells)} cells computed ({shared} of "
          f"them on passes shared with another cell), wall {wall:.0f} s ({wall / 60:.1f} min)")
    print(f"  forward passes {forward:.0f} s; cost measurements ~{cost:.0f} s ({passes} passes per cell at the "
          f"measured size, one more where memory was measured); harness inside cell runs {harness:.0f} s; between cell runs {wall - in_cells:.0f} s")
    print(f"harness overhead: {harness:.0f} s = {harness / forward:.1%} of the forward time "
          f"(with the time between cell runs: {(wall - forward - cost) / forward:.1%})")
    print(f"wall / forward = {wall / forward:.2f}x")
    if CHOOSE_S in parent.data.metrics:  # logged since the invocation run records them
        choose, prepare = parent.data.metrics[CHOOSE_S], parent.data.metrics.get(PREPARE_S, 0.0)
        inputs = parent.data.metrics.get(INPUTS_S, 0.0)  # logged since inputs are made ready before the cells
        rest = wall - in_cells - choose - prepare - inputs
        print(f"  between cell runs: choosing runtimes (auto's probes, with their exports) {choose:.0f} s, preparing "
              f"runtimes (loading or exporting graphs) {prepare:.0f} s, preparing inputs (generating LR images, "
              f"writing decoded copies) {inputs:.0f} s, the rest {rest:.0f} s")
        print(f"  without the probes, exports and input preparation (a fresh clone's one-time work): wall / forward = "
              f"{(wall - choose - prepare - inputs) / forward:.2f}x")


if __name__ == "__main__":
    main()
