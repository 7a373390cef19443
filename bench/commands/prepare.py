"""``srbench prepare``: turn DIV2K or any folder of HR images into the h5 training file (groups HR, X2, X3, X4)."""

from __future__ import annotations

from srbench.commands import options


def register(subparsers) -> None:
    p = options.subcommand(
        subparsers, "prepare", help="make the h5 training file from DIV2K or an image folder", doc=__doc__,
        more="DIV2K's shipped LR (DIV2K_train_LR_bicubic/X<s>) is used when present; otherwise LR images are made "
        "with MATLAB-compatible bicubic from the HR cropped to a multiple of each scale. An existing output built "
        "from the same inputs is kept.", handler=run)
    p.add_argument("source", help="DIV2K folder (with DIV2K_train_HR) or a folder of HR images")
    p.add_argument("-o", "--output", required=True, help="the h5 file to write (e.g. data/store/train/DIV2K.h5)")
    p.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4], choices=[2, 3, 4],
                   help="LR scales to store (default: 2 3 4)")
    p.add_argument("--force", action="store_true", help="rebuild even when the output is up to date")


def run(args) -> int:
    from srbench.commands.outputs import check_writable
    from srbench.data.prepare import prepare

    check_writable(args.output, "-o")
    path, built = prepare(args.source, args.output, tuple(args.scales), force=args.force)
    print(f"{'wrote' if built else 'up to date:'} {path}")
    return 0
