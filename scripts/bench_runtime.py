"""Where the limit is: each network's forward pass on every inference runtime, against a ceiling from the same run.

For each model and scale, in one process and one run: the median forward time at the output size (720p by default)
on every available runtime (srbench.eval.runtimes: eager, compile, onnxruntime, openvino), the achieved GFLOP/s
(2 x Mult-Adds of that forward pass / time; Mult-Adds counted by srbench.models.complexity on the timed LR size),
and the ratio to a ceiling measured in the same run on the same runtime: the GFLOP/s of one dense 64->64 3x3
convolution at the model's LR size, timed alone (wrapped in a 3->64 and a 64->3 1x1 convolution so that it takes
and returns an image like the models do; those add 1% of the Mult-Adds and are counted). A ratio near 1 says the
network runs its convolutions as fast as this runtime runs the densest one; far below 1, the time goes elsewhere
(memory-bound layers, concatenations, small or grouped convolutions, the runtime's overhead).

    .venv/bin/python scripts/bench_runtime.py [--models carn_m ecdn ecdn_m] [--scales 2 3 4]
                                              [--runtimes eager compile onnxruntime openvino] [--repeats 5]

The runtimes take turns in each of ``--repeats`` rounds (model pass, then the ceiling's, per runtime), so a change
in machine load hits all of them alike; timings on a shared machine still vary: compare the rows of one run.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn


class DenseConvCeiling(nn.Module):
    """3 -> 64 (1x1), 64 -> 64 (3x3, the measured convolution), 64 -> 3 (1x1), at the LR size; fixed weights."""

    arch = "dense_conv64_ceiling"
    scales = (2, 3, 4)

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.expand = nn.Conv2d(3, 64, 1)
        self.conv = nn.Conv2d(64, 64, 3, padding=1)
        self.reduce = nn.Conv2d(64, 3, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.05)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:  # the scale only names the LR size
        return self.reduce(self.conv(self.expand(x)))

    @staticmethod
    def macs(lr_hw: tuple[int, int]) -> int:
        return lr_hw[0] * lr_hw[1] * (3 * 64 + 64 * 64 * 9 + 64 * 3)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for name, tensor in self.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.numpy().tobytes())
        return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["carn_m", "ecdn", "ecdn_m"],
                        help="catalogue weights names (default: the released small models)")
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4], choices=[2, 3, 4])
    parser.add_argument("--runtimes", nargs="+", help="default: every runtime whose packages import")
    parser.add_argument("--bn-mode", default="eval", choices=["eval", "batch"])
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out-height", type=int, default=720)
    parser.add_argument("--out-width", type=int, default=1280)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from tabulate import tabulate

    from srbench.eval import runtimes as rt
    from srbench.eval.device import resolve_device
    from srbench.eval.latency import lr_size, measure_latency
    from srbench.eval.weights import load_eval_model, resolve_weights
    from srbench.models.complexity import mult_adds
    from srbench.runtime_choice import device_identity, runtime_cache_dir

    device = resolve_device(args.device)
    runtimes = args.runtimes or rt.available_runtimes()
    for name in runtimes:
        rt.check_runtime_name(name, "--runtimes")
    out_hw = (args.out_height, args.out_width)
    print(f"device: {device_identity(device)}; torch threads {torch.get_num_threads()}; output "
          f"{out_hw[0]}x{out_hw[1]}; BN {args.bn_mode}; warmup {args.warmup}, repeats {args.repeats}")
    print("versions: " + "; ".join(f"{r}: " + " ".join(f"{k}={v}" for k, v in rt.package_versions(r).items())
                                   for r in runtimes))
    ceiling_net = DenseConvCeiling()
    ceilings: dict[tuple[str, int], object] = {}  # (runtime, scale) -> prepared ceiling (compile: ~20 s each)
    ceiling_gflops: dict[tuple[str, int], list[float]] = {}
    rows, notes = [], []
    started = time.perf_counter()

    def timed_once(runner, scale: int, warmup: int = 0) -> float:
        return measure_latency(runner, scale, device, warmup=warmup, repeats=1, out_hw=out_hw).median_ms

    with tempfile.TemporaryDirectory() as tmp:
        for model_name in args.models:
            weights = resolve_weights(model_name, model_name)
            model = load_eval_model(model_name, weights, device=device)
            for scale in args.scales:
                lr_hw = lr_size(scale, out_hw)
                macs = mult_adds(model, scale, (lr_hw[0] * scale, lr_hw[1] * scale))  # the timed LR size exactly
                runners = {}
                for runtime in runtimes:
                    try:
                        runners[runtime] = rt.prepare_runtime(model, runtime, scale=scale, bn_mode=args.bn_mode,
                                                              device=device, weights_sha256=weights.sha256,
                                                              cache_dir=runtime_cache_dir())
                        if (runtime, scale) not in ceilings:
                            ceilings[(runtime, scale)] = rt.prepare_runtime(
                                ceiling_net, runtime, scale=scale, bn_mode="eval", device=device,
                                weights_sha256=ceiling_net.sha256(), cache_dir=Path(tmp))
                    except rt.RuntimeDeclined as exc:
                        runners.pop(runtime, None)
                        notes.append(f"{model_name} x{scale}: {runtime} declined: {exc.reason}")
                for runtime, runner in runners.items():  # warm-up: untimed
                    for _ in range(args.warmup):
                        timed_once(runner, scale)
                        timed_once(ceilings[(runtime, scale)], scale)
                model_ms = {r: [] for r in runners}
                conv_ms = {r: [] for r in runners}
                for _ in range(args.repeats):  # rounds that take turns, so a change of machine load hits all alike
                    for runtime, runner in runners.items():
                        model_ms[runtime].append(timed_once(runner, scale))
                        conv_ms[runtime].append(timed_once(ceilings[(runtime, scale)], scale))
                eager = statistics.median(model_ms["eager"]) if "eager" in model_ms else None
                for runtime in runners:
                    ms, cms = statistics.median(model_ms[runtime]), statistics.median(conv_ms[runtime])
                    q = (statistics.quantiles(model_ms[runtime], n=4, method="inclusive") if args.repeats > 1
                         else [0.0, 0.0, 0.0])
                    gflops = 2 * macs / ms / 1e6
                    conv_gflops = 2 * DenseConvCeiling.macs(lr_hw) / cms / 1e6
                    ceiling_gflops.setdefault((runtime, scale), []).append(conv_gflops)
                    rows.append([model_name, f"x{scale}", f"{lr_hw[0]}x{lr_hw[1]}", runtime, f"{ms:.1f}",
                                 f"{q[2] - q[0]:.1f}", f"{eager / ms:.2f}x" if eager else "—", f"{macs / 1e9:.1f}",
                                 f"{gflops:.1f}", f"{conv_gflops:.1f}", f"{gflops / conv_gflops:.2f}"])
                print(f"  {model_name} x{scale}: " + ", ".join(f"{r} {statistics.median(t):.0f} ms"
                                                              for r, t in model_ms.items()), file=sys.stderr,
                      flush=True)
                del runners
    print()
    print(tabulate(rows, headers=["model", "scale", "LR", "runtime", "median ms", "IQR ms", "vs eager",
                                  "GMult-Adds", "GFLOP/s", "ceiling GFLOP/s", "ratio"],
                   tablefmt="github", disable_numparse=True))
    print()
    print(tabulate([[r, f"x{sc}", f"{statistics.median(g):.1f}", f"{min(g):.1f}-{max(g):.1f}"]
                    for (r, sc), g in sorted(ceiling_gflops.items(), key=lambda kv: kv[0][::-1])],
                   headers=["runtime", "scale", "ceiling GFLOP/s (median over models)", "range"],
                   tablefmt="github", disable_numparse=True))
    for note in notes:
        print(f"note: {note}")
    print(f"\n{len(rows)} timings in {time.perf_counter() - started:.0f} s; GFLOP/s = 2 x Mult-Adds / median time; "
          "ceiling: one dense 64->64 3x3 convolution at the LR size on the same runtime, timed in the same rounds "
          f"as the model (median of {args.repeats}).")


if __name__ == "__main__":
    main()
