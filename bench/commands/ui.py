"""``srbench ui``: the MLflow UI on 127.0.0.1 against the project's store (or --tracking-uri).

Before it starts, experiments with srbench runs get the ``mlflow.experimentKind`` tag (if an older srbench wrote them
without it) and a saved view of their cell runs, every finished cell run is linked to its network's MLflow model
record (:mod:`srbench.track.logged_models`: the experiment's Models view), and the links printed open the
model-training view on them (:mod:`srbench.track.ui_meta`), not MLflow 3's GenAI pages.
"""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("ui", help="start the MLflow UI against the project store", description=__doc__)
    p.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--tracking-uri", default=None, help="store to show (default: the project's SQLite store)")
    p.set_defaults(handler=run)


def run(args) -> int:
    import os
    import subprocess
    import sys

    from srbench.core.store import mlruns_dir
    from srbench.track.tracking import client, tracking_uri
    from srbench.track.ui_meta import prepare_ui, ui_links

    uri = tracking_uri(args.tracking_uri)
    client(uri, write=False)  # a bad store fails here with one line (a half-made SQLite store is repaired first)
    from srbench.track.logged_models import link_store

    links = ui_links(f"http://{args.host}:{args.port}", prepare_ui(client(uri)))
    link_store(client(uri))  # every network a model record of MLflow's Models view (cells already there included)
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true")
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", args.host,
           "--port", str(args.port), "--workers", "1"]
    if uri.startswith("sqlite:///"):
        cmd += ["--default-artifact-root", (mlruns_dir() / "artifacts").as_uri()]
    print(f"MLflow UI on http://{args.host}:{args.port}  (store: {uri}); Ctrl-C to stop")
    for line in links:
        print("  " + line)
    sys.stdout.flush()
    return subprocess.call(cmd, env=env)
