"""``srbench benchmark``: run a declared experiment, log every cell to MLflow, print and write a summary table.

Cells already in MLflow with the same weights, protocol, data and code are reused (``--force`` recomputes), so an
interrupted benchmark resumes where it stopped and a finished one re-runs in seconds.

Runtimes: ``--runtime auto`` (the default: per network, BN mode and scale the fastest runtime that passes the
fidelity gate, chosen once and cached) or a declared one; ``--runtimes eager onnxruntime openvino`` measures every
cell on each (for the report's runtime comparison). ``--shard K/N`` runs the K-th of N parts of the cells (shard
groups, one model's weights at one scale each, in planned order: group i in shard i mod N + 1), so N processes fill
one tracking server (docs/scaling.md: a Slurm array, the server, crashes and reruns).
"""

from __future__ import annotations

import os
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("benchmark", help="run an experiment file (default experiments/benchmark.yaml)",
                              description=__doc__)
    p.add_argument("experiment", nargs="?", default="experiments/benchmark.yaml", help="experiment YAML file")
    p.add_argument("--models", nargs="+", help="only these models or weights names from the file")
    p.add_argument("--datasets", nargs="+", help="only these datasets (names in the store or folders)")
    p.add_argument("--scales", nargs="+", type=int, choices=[2, 3, 4], help="only these scales")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: the file's, else auto)")
    p.add_argument("--weights-key", help="the entry of wrapped checkpoint files (params, params_ema, state_dict, ...) "
                                         "for every entry whose weights are a file path")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default $MLFLOW_TRACKING_URI, else mlruns/mlflow.db)")
    p.add_argument("--runtime", help="auto, eager, compile, onnxruntime or openvino for every cell (default: the "
                                     "file's, else auto)")
    p.add_argument("--runtimes", nargs="+", metavar="RUNTIME",
                   help="measure every cell on each of these runtimes (separate cell runs: a runtime comparison)")
    p.add_argument("--shard", metavar="K/N", help="run only the K-th of N parts of the cells (1 <= K <= N; several machines need a "
                                             "tracking server: docs/scaling.md)")
    p.add_argument("--force", action="store_true", help="recompute cells already logged")
    p.add_argument("--summary", help="where to write the summary table (default "
                                     "reports/local/<experiment file's stem>.md, git-ignored; per file, so that quick.yaml or runtimes.yaml never overwrite "
                                     "the benchmark's)")
    p.add_argument("--cache-mb", metavar="MIB",
                   help="MiB this process may keep of decoded images and shared network outputs, so that they are not "
                        "made again (default $SRBENCH_CACHE_MB, else 256; 0 keeps nothing). Past it they are re-read "
                        "or recomputed: the same numbers, more time (docs/memory.md)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(handler=run)


def run(args) -> int:
    from collections import Counter

    from srbench.track import tracking
    from srbench.eval.device import describe_device, resolve_device
    from srbench.track.experiment import load_experiment, narrow, with_weights_key
    from srbench.track.benchmark import run_benchmark
    from srbench.report.summary import write_summary
    from srbench.commands.outputs import check_writable
    from srbench.track.shard import parse_shard
    from srbench.core.store import experiment_path

    args.experiment = str(experiment_path(args.experiment))  # the shipped default when not run from a checkout
    if not args.summary:
        from srbench.report import LOCAL_OUT
        args.summary = f"{LOCAL_OUT}/{Path(args.experiment).stem}.md"
    check_writable(args.summary, "--summary")
    shard = parse_shard(args.shard) if args.shard else None
    if args.cache_mb is not None:
        from srbench.core.cache_budget import BUDGET, parse_mb
        BUDGET.set_limit(parse_mb(args.cache_mb, "--cache-mb"))
    exp = narrow(load_experiment(args.experiment), models=args.models, datasets=args.datasets, scales=args.scales,
                 device=args.device, runtime=args.runtime, runtimes=args.runtimes)
    if args.weights_key:
        exp = with_weights_key(exp, args.weights_key)
    outcomes = run_benchmark(exp, experiment_file=args.experiment, tracking_uri=args.tracking_uri, force=args.force,
                             progress=not args.no_progress and not os.environ.get("SRBENCH_NO_PROGRESS"),
                             shard=shard)
    table = write_summary(tracking.client(args.tracking_uri), outcomes, Path(args.summary),
                          experiment=exp.name, protocol=exp.protocol, device=describe_device(resolve_device(exp.device)))
    print(table)
    counts = Counter(o.status for o in outcomes)
    print(f"\n{counts.get('computed', 0)} cell(s) computed, {counts.get('cached', 0)} reused from MLflow, "
          f"{counts.get('skipped', 0)} skipped; summary written to {args.summary}")
    for o in outcomes:
        if o.status == "skipped":
            print(f"  skipped {o.label}: {o.note}")
    return 0
