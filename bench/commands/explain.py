"""``srbench explain``: why a cell's PSNR differs from a paper's, by measurement.

Measures one (model, weights, dataset, scale) cell under the standard protocol and under every single-knob deviation
(luma, colour, gray images, border crop, 8-bit step, SSIM window, aggregation, the LR images' generator with and
without mod-crop, the BN mode for networks with BatchNorm), with one forward pass per distinct LR input, and prints
knob, value, PSNR, dPSNR, SSIM, dSSIM. ``--pairs`` adds every pair of the knobs that need no new forward pass
(the measuring knobs, both applied to the standard outputs).
``--published 32.21/0.8948`` names the rows that round to the printed values, or else the nearest single knob (and
pair) with its residual. Example: ``srbench explain --model bicubic --dataset Set14 --scale 4 --published
26.00/0.7027``. ``srbench explain experiments/explain.yaml`` measures and logs every declared cell (``make
explain``; see :mod:`srbench.track.explain_file`). See docs/protocol.md.
"""

from __future__ import annotations

from srbench.commands import options

import argparse
import json
import sys
import time


def register(subparsers) -> None:
    p = subparsers.add_parser("explain", help="measure how each protocol knob moves a cell's PSNR/SSIM and which "
                                              "one explains a published number", description=__doc__)
    p.add_argument("file", nargs="?", help="an explain experiment file (experiments/explain.yaml): every declared "
                                           "cell, logged (implies --log); without it, --model names one cell")
    p.add_argument("--model", help="registered model name (or path/to/file.py:builder)")
    p.add_argument("--weights", default=None,
                   help="catalogue name, .pth path, run:<id>, or none (default: the catalogue entry named like the "
                        "model, none for bicubic)")
    p.add_argument("--weights-key", help="the entry of a checkpoint that wraps its state_dict")
    p.add_argument("--dataset", default="Set14", help="dataset name in the store or folder (default: Set14)")
    p.add_argument("--scale", type=int, default=4, choices=[2, 3, 4], help="scale (default: 4)")
    options.protocol(p, "the protocol the deviations start from (default: standard)")
    p.add_argument("--published", help="the paper's PSNR/SSIM as printed, e.g. 32.21/0.8948 (or just the PSNR)")
    p.add_argument("--pairs", action="store_true",
                   help="also every pair of the knobs that need no new forward pass (the measuring knobs)")
    options.device(p)
    options.runtime(p)
    options.json_output(p, "the table")
    p.add_argument("--log", action="store_true", help="record the measurement as one MLflow run (table as artifact)")
    p.add_argument("--label", help="the model's name in logs and reports (default: the model name)")
    options.store(p, experiment="explain", experiment_help="MLflow experiment for --log",
                  force_help="with --log: measure again even if a finished run exists")
    options.no_progress(p)
    p.set_defaults(handler=run)


def table_markdown(explained, title: str) -> str:
    """The table as printed: knob, value, PSNR, dPSNR, SSIM, dSSIM (standard first)."""
    from tabulate import tabulate

    rows = [[r.deviation.knob, r.deviation.value, f"{r.psnr:.3f}",
             "" if not r.deviation.changes else f"{r.d_psnr:+.3f}", f"{r.ssim:.4f}",
             "" if not r.deviation.changes else f"{r.d_ssim:+.4f}"] for r in explained.rows]
    body = tabulate(rows, headers=["knob", "value", "PSNR", "Δ PSNR", "SSIM", "Δ SSIM"], tablefmt="github",
                    disable_numparse=True)
    return f"{title}\n\n{body}\n"


def _runner_factory(args, net, model, device, base, say):
    """``runner_for(bn_mode)``: the loaded ``model`` on the runtime ``--runtime`` decides for that BN mode, prepared
    (:func:`srbench.track.networks.ready`); ``used``: BN mode -> the runtime that ran."""
    from srbench.eval.runtimes import check_runtime_name
    from srbench.runtime_choice import CellRuntimes
    from srbench.track.networks import ready

    check_runtime_name(args.runtime, "--runtime")
    runtimes = CellRuntimes(device, say=say)
    used: dict[str, str] = {}

    def runner_for(bn_mode: str):
        use = ready(runtimes, net, args.runtime, model, scale=args.scale, bn_mode=bn_mode, dataset=args.dataset,
                    protocol=base.with_(bn_mode=bn_mode), label=net.model)
        used[bn_mode] = use.runtime
        return use.runner

    return runner_for, used


def run(args) -> int:
    from srbench.core.errors import SrbenchError
    from srbench.core.heap import keep_freed_memory

    keep_freed_memory()  # about ten outputs an image, each with its large temporaries

    if args.file is None:
        if not args.model:
            raise SrbenchError("srbench explain needs --model (one cell) or an explain file (experiments/explain.yaml)")
        return run_cell(args)
    if args.model or args.published:
        raise SrbenchError("give either an explain file or --model/--published, not both")
    return run_file(args)


def run_file(args) -> int:
    """Every cell of an explain file, logged (a finished run with the same key is reused)."""
    from srbench.track.explain_file import load_explain_file
    from srbench.core.errors import SrbenchError

    spec, entries = load_explain_file(args.file)
    start = time.perf_counter()
    for entry in entries:
        for dataset in spec.datasets:
            for scale in spec.scales:
                cell = argparse.Namespace(**{**vars(args), "model": entry.model, "weights": entry.weights,
                                             "weights_key": entry.weights_key, "label": entry.label,
                                             "dataset": dataset, "scale": scale, "protocol": spec.protocol,
                                             "pairs": spec.pairs, "runtime": spec.runtime, "device": spec.device,
                                             "experiment": spec.name, "log": True, "json": False})
                try:
                    run_cell(cell)
                except SrbenchError as exc:
                    if not entry.optional:
                        raise
                    print(f"skipped {entry.label or entry.model} {dataset} x{scale}: {exc}", file=sys.stderr)
    print(f"{args.file}: {time.perf_counter() - start:.1f} s wall", file=sys.stderr)
    return 0


def run_cell(args) -> int:
    """One cell: measure, print (or --json), and with --log record it."""
    from srbench.api.evaluation import default_weights
    from srbench.data.datasets import resolve_dataset
    from srbench.eval.device import resolve_device
    from srbench.eval.explain import Printed, deviations, explain_cell, match_published, pair_deviations
    from srbench.eval.protocol import get_protocol
    from srbench.models import has_batchnorm
    from srbench.track.networks import Network
    from srbench.track.run_weights import resolve_weights

    start = time.perf_counter()

    def say(line: str) -> None:
        print(line, file=sys.stderr)

    printed = Printed.parse(args.published) if args.published else None
    base = get_protocol(args.protocol)
    resolve_dataset(args.dataset)
    device = resolve_device(args.device)
    weights = resolve_weights(args.weights if args.weights is not None else default_weights(args.model), args.model)
    net = Network(args.model, weights, weights_key=args.weights_key)
    model = net.load(device, [args.scale])
    notes: list[str] = []
    variants = deviations(base, has_bn=has_batchnorm(model), notes=notes)
    if args.pairs:
        variants += pair_deviations(variants)
    for line in notes:
        say(line)
    label = args.label or args.model
    key = None
    if args.log:
        from srbench.track.explain_log import explain_key, find_logged

        key = explain_key(model=args.model, weights_sha256=weights.sha256, dataset=args.dataset, scale=args.scale,
                          base=base, variants=variants, runtime=args.runtime)
        done = None if args.force else find_logged(key, experiment=args.experiment, tracking_uri=args.tracking_uri)
        if done is not None:
            say(f"already logged (same model, data, protocol and code): run {done} in MLflow experiment "
                f"{args.experiment!r}; --force measures again")
            return 0
    runner_for, used = _runner_factory(args, net, model, device, base, say)
    explained = explain_cell(runner_for, args.dataset, args.scale, base=base, variants=variants, device=device,
                             progress=not args.no_progress, notes=notes)
    match = match_published(explained.rows, printed) if printed is not None else None
    _emit(args, explained, match, label=label, weights=weights, used=used, printed=printed, key=key, say=say)
    say(f"explain: {time.perf_counter() - start:.1f} s wall after the imports; its {explained.forward_passes} forward "
        f"passes took {explained.forward_s:.1f} s, beside the scoring")
    return 0


def _emit(args, explained, match, *, label, weights, used, printed, key, say) -> None:
    """Print the table (or --json) and the verdict; with --log, record the run."""
    title = (f"{label} ({weights.name}) {explained.dataset} x{args.scale}: protocol {explained.base.name} and every "
             f"{'single and paired' if args.pairs else 'single'}-knob deviation; runtime "
             f"{', '.join(f'{m}: {r}' for m, r in used.items())}; {explained.forward_passes} forward passes "
             f"({explained.forward_s:.1f} s)")
    table = table_markdown(explained, title)
    if args.json:
        out = explained.as_dict()
        out.update(model=args.model, weights=weights.name, weights_sha256=weights.sha256, runtime=used,
                   match=match.as_dict() if match is not None else None)
        print(json.dumps(out, indent=2))
    else:
        print(table)
        for line in (match.lines() if match is not None else []):
            print(line)
    if args.log:
        from srbench.track import tags as T
        from srbench.track.explain_log import log_explained

        extra = {T.RUNTIME: ",".join(sorted(set(used.values())))}
        if printed is not None:
            extra[T.EXPLAIN_PUBLISHED] = printed.text
        run_id = log_explained(explained, table, key=key, model=args.model, label=label, weights=weights.name,
                               weights_sha256=weights.sha256, pairs=args.pairs, experiment=args.experiment,
                               tracking_uri=args.tracking_uri, extra_tags=extra)
        say(f"logged as run {run_id} in MLflow experiment {args.experiment!r}")
