"""The command-line options several commands share, declared once so their names, defaults and help agree."""

from __future__ import annotations

DEVICES = "auto, cpu, cuda, cuda:N or mps"
RUNTIMES = "auto, eager, compile, onnxruntime or openvino"
PROTOCOLS = "standard, paper_gray, ecdn_report"
STORE = "MLflow tracking URI (default $MLFLOW_TRACKING_URI, else mlruns/mlflow.db)"


def subcommand(subparsers, name: str, *, help: str, doc: str, more: str = "", handler=None):
    """The parser of ``srbench <name>``: ``help`` in the command list, the module docstring ``doc`` (and ``more``)
    as its description."""
    p = subparsers.add_parser(name, help=help, description=doc + (" " + more if more else ""))
    if handler is not None:
        p.set_defaults(handler=handler)
    return p


def device(p, default: str | None = "auto", *, otherwise: str = "auto") -> None:
    """``--device``; ``default`` None leaves it to the file or recipe (``otherwise`` says what that is)."""
    p.add_argument("--device", default=default, help=f"{DEVICES} (default: {default or otherwise})")


def runtime(p) -> None:
    """``--runtime`` (default ``auto``: the fastest runtime that passes the fidelity gate)."""
    p.add_argument("--runtime", default="auto", help=f"{RUNTIMES} (default: auto)")


def protocol(p, help: str = f"protocol preset: {PROTOCOLS}") -> None:
    """``--protocol`` (default ``standard``)."""
    p.add_argument("--protocol", default="standard", help=help)


def store(p, *, experiment: str, experiment_help: str, force_help: str) -> None:
    """Where a command logs: ``--experiment``, ``--tracking-uri``, and ``--force`` (log anew even if logged)."""
    p.add_argument("--experiment", default=experiment, help=f"{experiment_help} (default: {experiment})")
    p.add_argument("--tracking-uri", help=STORE)
    p.add_argument("--force", action="store_true", help=force_help)


def json_output(p, instead_of: str = "tables") -> None:
    p.add_argument("--json", action="store_true", help=f"print machine-readable JSON instead of {instead_of}")


def no_progress(p) -> None:
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
