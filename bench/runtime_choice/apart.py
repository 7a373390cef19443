"""``auto``'s probe in a child process: what probing leaves behind ends with the child, not with the benchmark.

Probing (:func:`srbench.runtime_choice.selection.select_runtime`) prepares three runtimes in turn (eager PyTorch,
ONNX Runtime, OpenVINO), runs each on the probe image and times it. Dropping them afterwards does not give all of it
back: their libraries' caches, thread pools and heap fragments stayed, about 118 MiB in the full benchmark, just
before the network whose ONNX Runtime arena is the run's largest allocation (docs/memory.md). A child interpreter
makes the same choice (same code, same probe, same thread count) and writes the same cache file; the parent then
prepares only the chosen runtime. The price is a fresh interpreter per probe (about 1.3 s of imports on this
machine), paid once per network, BN mode and scale on a fresh store: a cached or stored choice runs no probe at all.

The child is a plain ``python -c`` that imports this module, not a ``multiprocessing`` spawn: a spawn re-imports the
parent's main script, and a user's script or training loop that calls the benchmark without an
``if __name__ == "__main__"`` guard would run again inside it. It gets the parent's ``sys.path`` (so a user's model
module imports there too) and its thread count. A model that the child cannot rebuild (its class defined in a function,
a notebook cell, or ``__main__``: pickle cannot import it by name) is probed in this process, as before: only the
memory differs, never the choice's rules or a number.

The child also counts the network's complexity figures where the store's cache lacks them
(:mod:`srbench.eval.complexity_cache`): counting on torch's ``meta`` device imports ``torch._dynamo`` (1.4 s, 67 MiB
kept for the rest of the process), which the benchmark process then never imports (``tests/test_runtime_apart.py``).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from srbench.core.errors import SrbenchError
from srbench.eval.cell import complexity
from srbench.runtime_choice.selection import Selection, select_runtime

_CHILD = "import sys; from srbench.runtime_choice.apart import child_main; sys.exit(child_main(sys.argv[1]))"


def select_runtime_apart(model: nn.Module, *, count: CountAt | None = None, **kwargs) -> Selection:
    """:func:`select_runtime` of ``model`` (its keyword arguments as they are) run in a child process; the returned
    :class:`Selection` has no prepared runner (prepare the chosen runtime in this process). An exception the
    selection raises (a one-line SrbenchError, RuntimeDeclined) is raised here as it is; a child that dies (killed,
    out of memory) is a one-line SrbenchError.

    ``count``: the output size and profile input of the benchmark's cost figures: the child also counts the network's
    complexity figures at each of its scales that the store's cache lacks (:mod:`srbench.eval.complexity_cache`), so
    that this process reads them and never imports what counting imports."""
    if type(model).__module__ == "__main__":
        return select_runtime(model, **kwargs)
    try:
        job = pickle.dumps({"path": list(sys.path), "threads": torch.get_num_threads(), "model": pickle.dumps(model),
                            "kwargs": kwargs, "count": count})
    except (pickle.PicklingError, AttributeError, TypeError):
        return select_runtime(model, **kwargs)
    with tempfile.TemporaryDirectory(prefix="srbench-probe-") as folder:
        exchange = Path(folder) / "exchange.pickle"
        exchange.write_bytes(job)
        done = subprocess.run([sys.executable, "-c", _CHILD, str(exchange)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
        answer = pickle.loads(exchange.read_bytes()) if done.returncode == 0 else None
    if not isinstance(answer, dict):
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1][:200]
        raise SrbenchError(f"auto's runtime probe of {getattr(model, 'arch', type(model).__name__)} "
                           f"x{kwargs.get('scale')} stopped: its process died ({last}); run again, or declare a "
                           "runtime (eager, onnxruntime, openvino)")
    if "error" in answer:
        raise answer["error"]
    if answer.get("record") is None:  # the child could not rebuild the model: probe here
        return select_runtime(model, **kwargs)
    return Selection(**answer["record"])


@dataclass(frozen=True)
class CountAt:
    """Where a benchmark's complexity figures are counted: its cost output size and challenge-profile input."""

    out_hw: tuple[int, int]
    profile_in: tuple[int, int, int]


def _count_figures(model: nn.Module, count: CountAt, scale: int | None) -> None:
    """Count (and keep in the store's cache) the model's figures at each of its scales (the probed one when it
    declares none); :func:`srbench.eval.cell.complexity` reads those the cache has. Best effort: a network that
    cannot be counted is counted, and fails with its own error, in the benchmark's process."""
    scales = tuple(getattr(model, "scales", ()) or ()) or ((scale,) if scale is not None else ())
    for s in scales:
        try:
            complexity(model, s, count.out_hw, count.profile_in)
        except Exception:  # noqa: BLE001 - left to the benchmark's own count, which reports it
            return


def child_main(exchange: str) -> int:
    """The child: read the job from ``exchange``, make the selection, write the answer over it (a record, the
    selection's exception, or no record when the model's class cannot be imported here)."""
    path = Path(exchange)
    job = pickle.loads(path.read_bytes())
    sys.path[:] = job["path"]
    torch.set_num_threads(job["threads"])
    try:
        model = pickle.loads(job["model"])
    except (ImportError, AttributeError):
        path.write_bytes(pickle.dumps({"record": None}))
        return 0
    try:
        selection = select_runtime(model, **job["kwargs"])
        answer = {"record": {**selection.as_dict(), "cached": selection.cached}}
        if job.get("count") is not None:
            _count_figures(model, job["count"], job["kwargs"].get("scale"))
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        try:
            answer = {"error": exc}
            pickle.dumps(answer)
        except Exception:  # noqa: BLE001 - an exception that does not pickle: its one line instead
            line = (str(exc).strip().splitlines() or [""])[0][:200]
            answer = {"error": SrbenchError(f"{type(exc).__name__}: {line}")}
    path.write_bytes(pickle.dumps(answer))
    return 0
