"""``srbench evaluate``: PSNR/SSIM of models on datasets and scales, per image and mean, printed (no MLflow).

Example: ``srbench evaluate --model ecdn --weights ecdn --dataset Set5 --scale 4``. For tracked, cached runs with
efficiency measurements use ``srbench benchmark``. ``--runtime`` picks the inference runtime (default ``auto``: the
fastest that passes the fidelity gate, chosen once per model, BN mode and scale and cached; its choice is printed to
stderr).
"""

from __future__ import annotations

from srbench.commands import options

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="evaluate models on datasets and print PSNR/SSIM (no tracking)",
                              description=__doc__)
    p.add_argument("--model", "--models", dest="models", nargs="+", required=True, help="registered model name(s)")
    p.add_argument("--weights", nargs="+", default=None,
                   help="weights per model: catalogue name, .pth path, run:<id>, or none (default: the catalogue "
                        "entry named like the model, none for bicubic)")
    p.add_argument("--dataset", "--datasets", dest="datasets", nargs="+", default=["Set5"],
                   help="dataset names in the store or folders in the benchmark layout (default: Set5)")
    p.add_argument("--scale", "--scales", dest="scales", nargs="+", type=int, default=[4], choices=[2, 3, 4],
                   help="scales (default: 4)")
    options.protocol(p)
    p.add_argument("--bn-mode", choices=["eval", "batch"], default=None,
                   help="BatchNorm statistics: eval (running) or batch (per image); default: the preset's")
    p.add_argument("--weights-key", help="the entry of a checkpoint that wraps its state_dict (params, params_ema, "
                                         "state_dict, model, net, ...); needed when it holds several")
    p.add_argument("--ensemble", choices=["x8"], help="x8: geometric self-ensemble (rows labelled model+)")
    p.add_argument("--tile", type=int, help="run on tiles of this many LR pixels (not with --bn-mode batch)")
    p.add_argument("--tile-overlap", type=int, default=None,
                   help="LR pixels read around each tile (default: 32)")
    options.device(p)
    options.runtime(p)
    options.json_output(p)
    options.no_progress(p)
    p.set_defaults(handler=run)


def result_record(model: str, weights: str, weights_sha256: str, protocol, result, inference=None, *,
                  runtime: str | None = None, runtime_versions: dict | None = None,
                  input_range: float | None = None) -> dict:
    """One (model, dataset, scale) result as ``--json`` prints it (``srbench score --json`` prints the same keys;
    a scored folder ran no runtime and no network: ``runtime`` and ``input_range`` null)."""
    return {"model": model, "weights": weights, "weights_sha256": weights_sha256, "input_range": input_range,
            "protocol": protocol.as_dict(),
            "inference": inference.as_dict() if inference is not None else {}, "runtime": runtime,
            "runtime_versions": runtime_versions or {}, **result.as_dict()}


def print_result(title: str, protocol, result) -> None:
    """One result as a table: per image and mean, PSNR/SSIM on the protocol's colour."""
    from tabulate import tabulate

    rows = [[r.name, f"{r.psnr:.3f}", f"{r.ssim:.4f}"] for r in result.images]
    rows.append(["mean", f"{result.psnr:.3f}", f"{result.ssim:.4f}"])
    print(f"\n{title}  {result.dataset}  x{result.scale}  protocol={protocol.name} bn={protocol.bn_mode}")
    print(tabulate(rows, headers=["image", f"PSNR_{protocol.color}", f"SSIM_{protocol.color}"],
                   tablefmt="github", disable_numparse=True))


def run(args) -> int:
    import sys

    from srbench.api.evaluation import default_weights, evaluate_named, make_inference
    from srbench.core.errors import SrbenchError
    from srbench.eval.device import resolve_device
    from srbench.eval.protocol import get_protocol
    from srbench.models import input_range

    if args.weights is not None and len(args.weights) != len(args.models):
        raise SrbenchError(f"--weights needs one value per model ({len(args.models)}), got {len(args.weights)}")
    specs = args.weights or [default_weights(m) for m in args.models]
    protocol = get_protocol(args.protocol, **({"bn_mode": args.bn_mode} if args.bn_mode else {}))
    if args.tile_overlap is not None and args.tile is None:
        raise SrbenchError("--tile-overlap needs --tile")
    inference = make_inference(args.ensemble, args.tile, args.tile_overlap)
    inference.check_bn_mode(protocol.bn_mode, "--tile")
    device = resolve_device(args.device)
    results = []
    for model_name, spec in zip(args.models, specs):
        for done in evaluate_named(model_name, spec, datasets=args.datasets, scales=args.scales, protocol=protocol,
                                   device=device, runtime=args.runtime, inference=inference,
                                   weights_key=args.weights_key, progress=not args.no_progress,
                                   say=lambda line: print(line, file=sys.stderr)):
            weights, span = done.weights, input_range(model_name, done.weights.build)
            results.append(result_record(model_name, weights.name, weights.sha256, protocol, done.result, inference,
                                         runtime=done.runtime, runtime_versions=done.runtime_versions,
                                         input_range=span))
            if not args.json:
                print_result(f"{model_name}{inference.suffix} ({weights.name}) runtime={done.runtime} "
                             f"input=[0, {span:g}]", protocol, done.result)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0
