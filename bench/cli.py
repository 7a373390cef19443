"""The ``srbench`` command line: a thin dispatcher over one module per command in :mod:`bench.commands`.

Each command module defines ``register(subparsers)`` (cheap: it only declares arguments) and does its heavy imports
inside its handler, so ``srbench --help`` answers at once. A :class:`srbench.core.errors.SrbenchError` is printed as one
line, ``error: ...``, with exit status 2; Ctrl-C exits with 130 after the command has saved what it finished.
SIGTERM (``kill``, a scheduler's stop, a container shutdown) is handled exactly like Ctrl-C: the current SIGINT
handler runs (the trainer's finishes its step and checkpoints), unfinished runs are marked KILLED, the same message
says that rerunning resumes, and the exit status is 143.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading

from srbench.core.errors import SrbenchError

COMMANDS = ("models", "data", "evaluate", "explain", "score", "benchmark", "report", "prepare", "train", "ablate", "ui")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srbench",
        description="Benchmark lightweight super-resolution models (CARN, CARN-M, ECDN, ECDN-M, bicubic and the "
                    "field's released networks: IMDN, RFDN, RLFN, FMEN, BSRN, SAFMN, SPAN) under one declared protocol, log everything to MLflow and render the papers' tables and figures.",
        epilog="Run `srbench <command> --help` for a command's options.")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for name in COMMANDS:
        importlib.import_module(f"srbench.commands.{name}").register(subparsers)
    return parser


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While the block runs (in the main thread), SIGTERM is delivered to whatever handles SIGINT at that moment
    (``KeyboardInterrupt`` by default, the trainer's graceful stop while it trains); yields a dict whose
    ``"signal"`` is set to SIGTERM once one arrived."""
    seen: dict = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def on_term(signum, frame):
        seen["signal"] = signum
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:  # SIG_IGN / SIG_DFL set by someone else: stop like an uncaught Ctrl-C would
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    # the Makefile's default too: idle OpenMP workers (torch's) sleep instead of spinning, so srbench run by hand
    # behaves as under make; read once, when torch loads OpenMP (docs/environment.md)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = build_parser().parse_args(argv)
    with sigterm_as_interrupt() as seen:
        try:
            return int(args.handler(args) or 0)
        except SrbenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            what = "terminated (SIGTERM)" if seen["signal"] else "interrupted"
            print(f"{what}: finished work is saved; run the same command again to resume", file=sys.stderr)
            return 143 if seen["signal"] else 130


if __name__ == "__main__":
    sys.exit(main())
