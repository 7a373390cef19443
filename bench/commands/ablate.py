"""``srbench ablate``: run a declared ablation (a grid over a training recipe, or a benchmark experiment).

Every point is trained, evaluated and logged under the ablation's MLflow experiment with the swept values as params,
so the MLflow UI compares them directly. Finished points are skipped; an interrupted point resumes its training.
The CPU-sized budget is the file's `set`; `--gpu` uses `gpu_base`/`gpu_set` (the papers' budget) instead.
"""

from __future__ import annotations

from srbench.commands import options


def register(subparsers) -> None:
    p = subparsers.add_parser("ablate", help="run an ablation file (experiments/ablation_*.yaml)", description=__doc__)
    p.add_argument("file", help="ablation YAML (grid over a training recipe) or a benchmark experiment file")
    p.add_argument("--gpu", action="store_true", help="the GPU-sized version: gpu_base recipe and gpu_set overrides")
    options.device(p, None, otherwise="the recipe's")
    p.add_argument("--only", nargs="+", help="only these points, by label (e.g. model=ecdn_m,group=4)")
    options.no_progress(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    import os

    from tabulate import tabulate

    from srbench.train.ablate import is_sweep, load_ablation, run_ablation

    progress = not args.no_progress and not os.environ.get("SRBENCH_NO_PROGRESS")
    if not is_sweep(args.file):
        return _as_benchmark(args, progress)
    abl = load_ablation(args.file)
    outcomes = run_ablation(abl, gpu=args.gpu, device=args.device, progress=progress, only=args.only)
    datasets = abl.evaluate.datasets
    rows = [[o.label, o.status, f"{int(o.metrics.get('params', 0)):,}",
             *(f"{o.metrics.get(f'psnr_y.{d}', float('nan')):.3f}" for d in datasets), (o.run_id or "")[:8]]
            for o in outcomes]
    print(tabulate(rows, headers=["point", "status", "params", *(f"PSNR {d}" for d in datasets), "run"],
                   tablefmt="github", disable_numparse=True))
    print(f"budget: {abl.budget}")
    return 0


def _as_benchmark(args, progress: bool) -> int:
    """A benchmark experiment file (the BatchNorm ablation): ``srbench benchmark FILE`` (its summary goes to
    reports/local/<stem>.md). The arguments are parsed by the benchmark command's own parser, so every option it has takes
    its default here too."""
    import argparse

    from srbench.commands import benchmark

    parser = argparse.ArgumentParser(prog="srbench")
    benchmark.register(parser.add_subparsers(dest="command"))
    argv = ["benchmark", args.file]
    argv += ["--device", args.device] if args.device else []
    argv += [] if progress else ["--no-progress"]
    return benchmark.run(parser.parse_args(argv))
