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
    p.set_defaults(handler=run)


def run(args) -> int:
    from srbench.data.fetch import run_data_command
    return run_data_command(args)
