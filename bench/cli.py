"""The ``srbench`` command line: a thin dispatcher over one module per command in :mod:`bench.commands`.

Each command module defines ``register(subparsers)`` (cheap: it only declares arguments) and does its heavy imports
inside its handler, so ``srbench --help`` answers at once. A :class:`srbench.core.errors.SrbenchError` is printed as one
line, ``error: ...``, with exit status 2; Ctrl-C exits with 130 after the command has saved what it finished.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from srbench.core.errors import SrbenchError

COMMANDS = ("models", "data", "evaluate", "score", "benchmark", "report", "prepare", "train", "ablate", "ui")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srbench",
        description="Benchmark lightweight super-resolution models (CARN, CARN-M, ECDN, ECDN-M, bicubic) under one "
                    "declared protocol, log everything to MLflow and render the papers' tables and figures.",
        epilog="Run `srbench <command> --help` for a command's options.")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for name in COMMANDS:
        importlib.import_module(f"srbench.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except SrbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished work is saved; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
