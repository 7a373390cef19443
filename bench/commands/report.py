"""``srbench report``: the papers' tables and figures, from MLflow alone, into reports/local/ (git-ignored)."""

from __future__ import annotations


def register(subparsers) -> None:
    from srbench.report import LOCAL_OUT

    p = subparsers.add_parser(
        "report", help="render reports/local/ (tables as Markdown/LaTeX/CSV, figures as PNG/PDF, README) from MLflow",
        description=__doc__ + " Reads the benchmark experiment plus the `training`, `ablation_group`, "
        "`ablation_loss` experiments when they exist (the BatchNorm ablation shares the benchmark experiment) (FINISHED runs only; the newest run per cell "
        "wins). Deleting the output folder and regenerating gives the same content; files in it that no "
        "report run wrote are never removed. `--out reports` rewrites the committed report (`make report-commit`).")
    p.add_argument("--experiment", default="benchmark", help="MLflow experiment with the cell runs (default: benchmark)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the project store)")
    p.add_argument("--out", default=LOCAL_OUT, help=f"output folder (default: {LOCAL_OUT}, git-ignored)")
    p.add_argument("--dataset", default="Set14", help="dataset of the PSNR-vs-Mult-Adds bubble chart (default: Set14)")
    p.add_argument("--scale", type=int, default=4, choices=[2, 3, 4], help="scale of the bubble chart (default: 4)")
    p.add_argument("--bubble-variants", action="store_true",
                   help="bubble chart: also the *_half / trained weights and the other BatchNorm mode (default: one "
                        "bubble per released model in the protocol's BN mode)")
    p.add_argument("--crop", action="append", default=[], metavar="SET/IMAGE@S:TOP,LEFT,H,W",
                   help="a visual-comparison crop, e.g. Set5/baby@4:200,180,96,96 (repeatable; added to the "
                        "experiment's `crops`)")
    p.add_argument("--reference", default="bicubic",
                   help="row the main table's paired comparison is made against: a label, weights or model name "
                        "(default: bicubic)")
    p.add_argument("--protocol", default="standard", help="protocol preset of the main tables (default: standard)")
    p.add_argument("--train-runs", nargs="+", metavar="RUN_ID",
                   help="training runs (ids or id prefixes) for the training curves (default: all finished ones)")
    p.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default: 10000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from srbench.core.errors import SrbenchError
    from srbench.report.build import generate
    from srbench.commands.outputs import check_writable

    if args.resamples < 100:
        raise SrbenchError(f"--resamples {args.resamples}: use at least 100")
    check_writable(args.out, "--out", folder=True)
    report = generate(experiment=args.experiment, uri=args.tracking_uri, out=args.out, dataset=args.dataset,
                      scale=args.scale, crops=args.crop, reference=args.reference, protocol=args.protocol,
                      train_runs=args.train_runs, n_resamples=args.resamples, seed=args.seed,
                      bubble_variants=args.bubble_variants)
    n_tables = sum(len(s.tables) for s in report.sections)
    n_figures = sum(len(s.figures) for s in report.sections)
    print(f"wrote {report.out / 'README.md'}: {n_tables} table(s), {n_figures} figure(s); "
          f"{len(report.notes)} note(s) in the README")
    return 0
