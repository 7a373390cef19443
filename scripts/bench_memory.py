"""Where the memory of `srbench benchmark` goes: its peak, its floor and a breakdown, from one run.

    .venv/bin/python scripts/bench_memory.py [--experiment experiments/quick.yaml] [--models ...] [--datasets ...]
                                             [--scales ...] [--cache-mb MIB] [--runtime R] [--no-floor]
    .venv/bin/python scripts/bench_memory.py --command "make benchmark"      # the main job itself, as a user runs it

**Peak.** The command runs as a child process (by default ``srbench benchmark`` on the declared part of the
experiment, against a fresh temporary MLflow store, with the project's data store and runtime cache); a thread reads
the resident memory (``VmRSS``, ``/proc/<pid>/status``) of that process and every descendant every ``--interval``
seconds (default 0.05) and sums it: the peak of the process tree. Pages shared between processes count once per
process, so the sum can only overstate. A peak shorter than the interval can be missed: the largest process's own
high-water mark (``VmHWM``) is read too and printed beside it.

**Phases.** The benchmark marks each cell it starts (:mod:`srbench.core.memory_trace`, ``SRBENCH_MEMORY_TRACE``),
with what the cache budget holds (decoded images, shared network outputs) and how many prepared runtimes it keeps;
each sample is assigned to the phase it falls in, and every phase's peak is printed.

**Floor** (unless ``--no-floor``): in fresh processes, the resident memory after the imports a benchmark makes
(torch, ONNX Runtime, OpenVINO, MLflow, srbench), and the high-water mark of the imports plus the largest forward pass
of each declared network (the largest LR image of the declared datasets at the network's smallest declared scale,
eager): what no cache budget can remove. The breakdown sets the peak beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MIB = 2 ** 20
IMPORTS = "import torch, onnxruntime, openvino, mlflow; import srbench.track.benchmark, srbench.eval.lpips"


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def _status(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants alive now."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


class Sampler(threading.Thread):
    """Samples the process tree's summed VmRSS (and the largest VmHWM seen) until the root exits."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self.hwm = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            pids = tree(self.pid)
            self.samples.append((time.time(), sum(_status(p, "VmRSS") for p in pids)))
            self.hwm = max([self.hwm, *(_status(p, "VmHWM") for p in pids)])
            time.sleep(self.interval)


def run_measured(command: list[str] | str, env: dict, interval: float) -> tuple[int, Sampler, float]:
    started = time.time()
    proc = subprocess.Popen(command, env=env, shell=isinstance(command, str))
    sampler = Sampler(proc.pid, interval)
    sampler.start()
    rc = proc.wait()
    sampler.done.set()
    sampler.join()
    return rc, sampler, time.time() - started


def phases(trace: Path, samples: list[tuple[float, int]]) -> list[dict]:
    """The trace's marks, each with the peak of the samples taken until the next mark."""
    marks = [json.loads(line) for line in trace.read_text().splitlines()] if trace.exists() else []
    marks = [{"t": 0.0, "phase": "start-up (imports, store, planning)", "cache": {}}] + marks
    for m, nxt in zip(marks, marks[1:] + [{"t": float("inf")}]):
        inside = [rss for t, rss in samples if m["t"] <= t < nxt["t"]]
        m["peak"] = max(inside, default=0)
    return marks


def floor(args) -> dict:
    """Resident memory of the imports alone, and imports + each declared network's largest forward pass (eager)."""
    py = sys.executable
    code = f"{IMPORTS}\nfrom srbench.core.memory_trace import resident_bytes; print(resident_bytes())"
    imports = int(subprocess.run([py, "-c", code], capture_output=True, text=True, check=True).stdout.split()[-1])
    nets = {}
    probe = Path(__file__).with_name("_largest_forward.py")
    for model in args.models or _declared_models(args):
        out = subprocess.run([py, str(probe), args.experiment, model, *(args.datasets or []), "--",
                              *map(str, args.scales or [])], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            nets[model] = json.loads(out.stdout.strip().splitlines()[-1])
        else:
            print(f"floor of {model}: failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
    return {"imports": imports, "networks": nets}


def _declared_models(args) -> list[str]:
    from srbench.track.experiment import load_experiment

    return sorted({m.model for m in load_experiment(args.experiment).models if m.model != "bicubic"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default="experiments/quick.yaml")
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--scales", nargs="+", type=int)
    parser.add_argument("--runtime")
    parser.add_argument("--cache-mb", help="the benchmark's --cache-mb (default: its own default)")
    parser.add_argument("--command", help="measure this shell command instead (e.g. 'make benchmark')")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.jsonl"
        env = {**os.environ, "SRBENCH_MEMORY_TRACE": str(trace), "SRBENCH_NO_PROGRESS": "1"}
        if args.cache_mb is not None:
            env["SRBENCH_CACHE_MB"] = args.cache_mb
        if args.command:
            command: list[str] | str = args.command
        else:
            command = [str(Path(sys.executable).with_name("srbench")), "benchmark", args.experiment,
                       "--tracking-uri", f"sqlite:///{Path(tmp) / 'mlflow.db'}", "--summary", str(Path(tmp) / "s.md"),
                       "--no-progress"]
            for flag in ("models", "datasets", "scales"):
                if getattr(args, flag):
                    command += [f"--{flag}", *map(str, getattr(args, flag))]
            if args.runtime:
                command += ["--runtime", args.runtime]
        rc, sampler, wall = run_measured(command, env, args.interval)
        marks = phases(trace, sampler.samples)
    peak = max((rss for _, rss in sampler.samples), default=0)
    print(f"\ncommand exited {rc} after {wall:.0f} s; {len(sampler.samples)} samples every {args.interval} s")
    print(f"peak resident memory of the process tree: {peak / MIB:.0f} MiB (largest single-process VmHWM "
          f"{sampler.hwm / MIB:.0f} MiB)")
    print("\n| phase | peak MiB | decoded images MiB | shared outputs MiB | prepared runtimes |\n|---|---:|---:|---:|---:|")
    at_peak = None
    for m in marks:
        cache = m.get("cache", {})
        print(f"| {m['phase']} | {m['peak'] / MIB:.0f} | {cache.get('decoded images', 0) / MIB:.0f} | "
              f"{cache.get('shared outputs', 0) / MIB:.0f} | {m.get('runtimes', '')} |")
        if m["peak"] == peak and at_peak is None:
            at_peak = m
    if not args.no_floor and not args.command:
        f = floor(args)
        print(f"\nfloor: imports (torch, ONNX Runtime, OpenVINO, MLflow, srbench) {f['imports'] / MIB:.0f} MiB")
        for model, n in f["networks"].items():
            print(f"floor: imports + {model}'s largest forward pass ({n['image']}, LR {n['lr']}, x{n['scale']}, "
                  f"eager): {n['hwm'] / MIB:.0f} MiB high-water")
        if at_peak is not None:
            cache = sum(at_peak.get("cache", {}).values())
            print(f"\nbreakdown at the peak ({at_peak['phase']}): imports {f['imports'] / MIB:.0f} MiB, caches "
                  f"{cache / MIB:.0f} MiB (limit {at_peak.get('cache_limit', 0) / MIB:.0f}), prepared runtimes "
                  f"{at_peak.get('runtimes', 0)}, the rest (the forward pass and its runtime's working memory, "
                  f"LPIPS, MLflow's writes) {(peak - f['imports'] - cache) / MIB:.0f} MiB")
    sys.exit(rc)


if __name__ == "__main__":
    main()
