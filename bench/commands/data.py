"""``srbench data``: fill the data store from the local mirror or the public URLs, checking every sha256."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="fetch benchmark sets, T91 and the released weights into data/store",
                              description=__doc__ + " A re-run checks the store and copies nothing that is "
                              "already correct. Mirror: $SRBENCH_MIRROR (default ../shared); store: $SRBENCH_STORE.")
    p.add_argument("--only", dest="targets", nargs="+", choices=["benchmark", "train", "weights"],
                   default=["benchmark", "train", "weights"], help="which parts to fetch (default: all)")
    p.add_argument("--mirror", help="a local mirror folder with sr-data/ and weights/ (overrides $SRBENCH_MIRROR)")
    p.add_argument("--recheck", action="store_true", help="re-hash every file instead of trusting size and mtime")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--check-div2k", metavar="DIR",
                   help="check a DIV2K folder of your own instead (docs/div2k.md): 800 train and 100 valid HR "
                   "images, names, 8-bit RGB, sizes, the LR folders present; and the sha256 of any DIV2K zip "
                   "archive in DIR against the published ones")
    p.set_defaults(handler=run)


def run(args) -> int:
    if args.check_div2k:
        from srbench.data.div2k import check_archives, check_div2k

        for name in check_archives(args.check_div2k):
            print(f"{name}: sha256 matches the published archive")
        print(check_div2k(args.check_div2k).summary())
        return 0
    from srbench.data.fetch import run_data_command
    return run_data_command(args)
