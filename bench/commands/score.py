"""``srbench score``: PSNR/SSIM of SR images made elsewhere, under the protocol, logged beside the benchmark's cells.

Example: ``srbench score --sr-dir results/EDSR/Set5/x4 --dataset Set5 --scale 4 --label EDSR``. Files are matched to
the dataset's HR images by name (``<name>.png``, ``<name>x4.png``, ``<name>_SR.png``, ``img_001_SRF_4_SR.png``...;
see :mod:`srbench.eval.sr_folder`). The result is logged as a cell run in the MLflow experiment ``benchmark`` (the
default experiment file's, which ``srbench report`` reads; ``--experiment`` picks another), so the report puts it in
the paper table beside the measured models; scoring the same folder again reuses that run.
"""

from __future__ import annotations

from srbench.commands import options

import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("score", help="score a folder of SR images made elsewhere and log it beside the "
                                            "benchmark", description=__doc__)
    p.add_argument("--sr-dir", required=True, help="folder of SR images, one per HR image of the dataset")
    p.add_argument("--dataset", required=True, help="dataset name in the store or folder in the benchmark layout")
    p.add_argument("--scale", required=True, type=int, choices=[2, 3, 4], help="the images' scale")
    options.protocol(p)
    p.add_argument("--label", help="the row's name in tables (default: the folder's name)")
    options.store(p, experiment="benchmark", experiment_help="MLflow experiment to log to",
                  force_help="log a new run even if this folder is already logged")
    options.json_output(p, "the table (the keys of srbench evaluate --json)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from srbench.commands.evaluate import print_result, result_record
    from srbench.core.errors import SrbenchError
    from srbench.eval.protocol import get_protocol
    from srbench.eval.sr_folder import score_folder
    from srbench.track.score import SR_DIR, log_scored_folder

    protocol = get_protocol(args.protocol)
    label = args.label or Path(args.sr_dir).resolve().name
    if not label.strip():
        raise SrbenchError("--label must not be empty")
    scored = score_folder(args.sr_dir, args.dataset, args.scale, protocol)
    status, run_id = log_scored_folder(scored, label=label, protocol=protocol, experiment=args.experiment,
                                       tracking_uri=args.tracking_uri, force=args.force)
    record = result_record(label, SR_DIR, scored.fingerprint, protocol, scored.result)
    if args.json:
        print(json.dumps([record], indent=2))
    else:
        print_result(f"{label} ({SR_DIR})", protocol, scored.result)
    if scored.unmatched:
        print(f"note: {len(scored.unmatched)} image file(s) in {args.sr_dir} match no HR image and were not read",
              file=sys.stderr)
    what = "logged as" if status == "logged" else "already logged (same folder content): reused"
    print(f"{what} run {run_id} in MLflow experiment {args.experiment!r}", file=sys.stderr)
    return 0
