"""Helper of ``scripts/bench_memory.py``: the high-water mark of the benchmark's imports plus one network's largest
forward pass, in a fresh process.

    python scripts/_largest_forward.py EXPERIMENT MODEL [DATASET ...] -- [SCALE ...]

The network is MODEL's first declared weights in EXPERIMENT, at its smallest declared scale, on the largest LR image
(by pixels) of the declared datasets, run eagerly on the CPU. Prints one JSON line: image, LR size, scale, VmHWM.
"""

from __future__ import annotations

import json
import sys

import mlflow  # noqa: F401  (the imports a benchmark makes, so the high-water mark includes them)
import onnxruntime  # noqa: F401
import openvino  # noqa: F401
import torch

from srbench.core.cache_budget import BUDGET
from srbench.data.datasets import load_samples
from srbench.eval.evaluate import forward_pass
from srbench.track.cell_plan import plan
from srbench.track.experiment import load_experiment, narrow


def main() -> None:
    experiment, model, *rest = sys.argv[1:]
    split = rest.index("--") if "--" in rest else len(rest)
    datasets, scales = rest[:split] or None, [int(s) for s in rest[split + 1:]] or None
    BUDGET.set_limit(0)  # keep no decoded image but the largest: a floor, not a cache
    exp = narrow(load_experiment(experiment), models=[model], datasets=datasets, scales=scales, device="cpu")
    cells, _ = plan(exp)
    cell = min((c for c in cells if c.entry.model == model), key=lambda c: c.scale)
    net = cell.net.load(torch.device("cpu"), [cell.scale])
    best = None
    for d in cell.datasets:
        for sample in load_samples(d, cell.scale):
            if best is None or sample.lr.size > best[1].lr.size:
                best = (f"{d}/{sample.name}", sample)
    forward_pass(net, best[1].lr, cell.scale)
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    print(json.dumps({"image": best[0], "lr": "x".join(map(str, best[1].lr.shape[:2])), "scale": cell.scale,
                      "hwm": hwm}))


if __name__ == "__main__":
    main()
