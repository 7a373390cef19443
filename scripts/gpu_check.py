"""The GPU check: what srbench's CUDA paths do on a real GPU, in at most ~5 minutes (docs/gpu.md).

Run through ``scripts/gpu_check.sh`` (it makes ``import srbench`` work from the checkout without installing and
points the store at the carried Set5 and weights). Checks, each one line ``PASS``/``FAIL``/``SKIP`` and a JSON record:

env        torch, CUDA, cuDNN, GPU model and capability, TF32 defaults.
latency    srbench.eval.latency.measure_latency on cuda:0 against a plain loop (synchronise, N calls, synchronise,
           mean): the two clocks must agree within ``--latency-tolerance`` (a broken event clock reads ~0 ms).
           Bicubic must be timed by the wall clock (host numpy work).
fidelity   Set5 x4, every network whose weights are present: the 8-bit outputs on the GPU (eager, TF32 off) against
           the CPU path's, image by image, through the runtime fidelity gate (srbench.eval.runtimes.compare_outputs:
           |dPSNR vs HR| <= 0.001 dB); then the same for ``compile`` while the time budget lasts. With TF32 on, the
           difference is reported (not gated): why the protocol turns it off.
memory     measure_peak_memory_mb twice per network at the 720p output: positive, finite, repeatable.
train      one bf16 training step of ECDN-M (srbench.train.trainer.build_stepper): finite loss, weights changed;
           what ``amp=auto`` resolves to on this GPU.

``--cpu`` runs the same plumbing on the CPU with tiny sizes and without compile unless ``--compile`` (the CPU-vs-CPU
comparisons then pass by construction and latency is reported, not gated): it proves the script runs, not anything
about GPUs. The exit status is 1 when any check failed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

NETWORKS = ("carn_m", "ecdn_m", "ecdn", "carn")
REQUIRED = ("numpy", "PIL", "tqdm", "yaml", "torch")


def _imports(vendor: Path | None) -> None:
    """Import srbench's dependencies; pure-Python ones missing here are taken from the carried ``vendor`` folder."""
    import importlib

    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except ImportError:
            if vendor is None or not (vendor / name).exists():
                sys.exit(f"error: Python package {name!r} is missing and not in the carried vendor folder")
            sys.path.append(str(vendor))
            importlib.import_module(name)


class Report:
    """The checks' results: one printed line each, all in ``--out`` as JSON."""

    def __init__(self, out: Path | None) -> None:
        self.rows: list[dict] = []
        self.out = out
        self.start = time.perf_counter()

    def add(self, check: str, status: str, detail: str, **numbers) -> None:
        row = {"check": check, "status": status, "detail": detail, **numbers}
        self.rows.append(row)
        print(f"{status:4} {check:22} {detail}", flush=True)
        if self.out is not None:
            self.out.write_text(json.dumps(self.rows, indent=1, default=str))

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def failed(self) -> bool:
        return any(row["status"] == "FAIL" for row in self.rows)


def check_env(report: Report, device) -> None:
    import torch

    from srbench.eval.device import cuda_identity, describe_device

    info = {"torch": torch.__version__, "device": describe_device(device), **cuda_identity(device)}
    if device.type == "cuda":
        info["tf32_default_cudnn"] = torch.backends.cudnn.allow_tf32
        info["tf32_default_matmul"] = torch.backends.cuda.matmul.allow_tf32
    report.add("env", "PASS", ", ".join(f"{k}={v}" for k, v in info.items()), **info)


def load(name: str, device):
    """The network with its released weights on ``device`` (eval BN); None when its weights are not carried."""
    from srbench.core.errors import SrbenchError
    from srbench.eval.weights import load_eval_model, resolve_weights
    from srbench.models import set_bn_mode

    try:
        weights = resolve_weights(None if name == "bicubic" else name, name)
        return set_bn_mode(load_eval_model(name, weights, device=device, scales=(4,)), "eval")
    except SrbenchError as exc:
        return exc


def _plain_loop_ms(model, x, device, repeats: int) -> float:
    import torch

    from srbench.eval.latency import synchronize

    with torch.inference_mode():
        for _ in range(3):
            model(x, 4)
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            model(x, 4)
        synchronize(device)
    return (time.perf_counter() - start) / repeats * 1e3


def check_latency(report: Report, device, args) -> None:
    from srbench.eval.latency import fixed_input, measure_latency

    for name in ("bicubic", *NETWORKS):
        model = load(name, device)
        if isinstance(model, Exception):
            report.add(f"latency {name}", "SKIP", str(model))
            continue
        repeats = 3 if name == "bicubic" else args.repeats
        lat = measure_latency(model, 4, device, warmup=3, repeats=repeats, out_hw=args.out_hw)
        plain = _plain_loop_ms(model, fixed_input(4, args.out_hw, device), device, repeats)
        ratio = lat.median_ms / plain
        expected_clock = "wall" if name == "bicubic" or device.type != "cuda" else "cuda_events"
        ok = abs(ratio - 1) <= args.latency_tolerance and lat.clock == expected_clock
        status = "PASS" if ok else "FAIL"
        if device.type == "cpu" and lat.clock == expected_clock:
            status = "INFO"  # two wall clocks on a shared CPU: the ratio is noise, not a finding
        report.add(f"latency {name}", status,
                   f"measure_latency {lat.median_ms:.3f} ms ({lat.clock}) vs plain loop {plain:.3f} ms: "
                   f"ratio {ratio:.3f}", median_ms=lat.median_ms, plain_ms=plain, clock=lat.clock)


def _outputs(runner, samples, device, protocol) -> list:
    from srbench.eval.evaluate import super_resolve

    return [super_resolve(runner, s.lr, 4, protocol, device)[0] for s in samples]


def _gate(report: Report, label: str, reference: list, candidate: list, samples, protocol, *, gated=True) -> None:
    from srbench.eval.runtimes import compare_outputs

    gates = [compare_outputs(r, c, s.hr, scale=4, protocol=protocol, gray=s.gray, candidate=label)
             for r, c, s in zip(reference, candidate, samples)]
    worst = max(gates, key=lambda g: abs(g.delta_db) if g.delta_db is not None else 0.0)
    status = ("PASS" if all(g.passed for g in gates) else "FAIL") if gated else "INFO"
    report.add(label, status, f"{len(gates)} images; worst: {worst.note}",
               passed=[g.passed for g in gates], max_delta_db=worst.delta_db)


def check_fidelity(report: Report, device, args) -> None:
    import torch

    from srbench.data.datasets import load_samples
    from srbench.eval.device import cuda_math
    from srbench.eval.protocol import get_protocol
    from srbench.eval.runtimes import RuntimeDeclined, prepare_runtime

    protocol = get_protocol("standard")
    samples = list(load_samples("Set5", 4))[: args.images]
    cpu = torch.device("cpu")
    for name in NETWORKS:
        model = load(name, device)
        if isinstance(model, Exception):
            report.add(f"fidelity {name}", "SKIP", str(model))
            continue
        reference = _outputs(load(name, cpu), samples, cpu, protocol)
        with cuda_math(device, tf32=False):
            _gate(report, f"eager {name}", reference, _outputs(model, samples, device, protocol), samples, protocol)
        if device.type == "cuda":
            with cuda_math(device, tf32=True):
                _gate(report, f"eager+tf32 {name}", reference, _outputs(model, samples, device, protocol), samples,
                      protocol, gated=False)
        if not args.compile or report.elapsed() > args.budget_s:
            report.add(f"compile {name}", "SKIP", "not asked (--compile)" if not args.compile else
                       f"time budget ({args.budget_s:.0f} s) spent")
            continue
        try:
            with cuda_math(device, tf32=False):
                runner = prepare_runtime(model, "compile", scale=4, bn_mode="eval", device=device)
                _gate(report, f"compile {name}", reference, _outputs(runner, samples, device, protocol), samples,
                      protocol)
        except RuntimeDeclined as exc:
            report.add(f"compile {name}", "FAIL", exc.reason)


def check_memory(report: Report, device, args) -> None:
    from srbench.eval.memory import measure_peak_memory_mb

    for name in NETWORKS:
        model = load(name, device)
        if isinstance(model, Exception):
            report.add(f"memory {name}", "SKIP", str(model))
            continue
        first, second = (measure_peak_memory_mb(model, 4, device, out_hw=args.out_hw) for _ in range(2))
        ok = first is not None and math.isfinite(first) and first > 0 and abs(first - second) <= 0.01 * first
        report.add(f"memory {name}", "PASS" if ok else "FAIL", f"peak {first:.1f} MiB, again {second:.1f} MiB",
                   peak_mb=first, again_mb=second)


def check_train_step(report: Report, device, args) -> None:
    import numpy as np
    import torch

    from srbench.models import create_model
    from srbench.train.config import TrainConfig
    from srbench.train.precision import resolve_precision
    from srbench.train.trainer import build_stepper

    auto = resolve_precision("auto", device)
    precision = resolve_precision("bf16", device)
    config = TrainConfig(model="ecdn_m", scale=4, batch_size=args.batch, patch_size=args.patch, amp="bf16")
    torch.manual_seed(0)
    model = create_model("ecdn_m", scales=4, device=str(device)).train()
    stepper = build_stepper(config, model, device, precision)
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (args.batch, args.patch * 4, args.patch * 4, 3), dtype=np.uint8)
    lr = np.ascontiguousarray(hr[:, ::4, ::4])
    before = [p.detach().clone() for p in model.parameters()]
    times = []
    for _ in range(2):  # the second step is timed (the first pays cuDNN's autotuning and allocation)
        start = time.perf_counter()
        loss = stepper.forward(4, lr, hr)
        stepper.update(loss)
        value = loss.item()  # synchronises
        times.append((time.perf_counter() - start) * 1e3)
    changed = any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    ok = math.isfinite(value) and changed and precision.effective == "bf16"
    report.add("train bf16 step", "PASS" if ok else "FAIL",
               f"loss {value:.4f}, weights changed: {changed}, step {times[-1]:.1f} ms, {precision.reason}; "
               f"amp=auto here: {auto.effective} ({auto.reason})", step_ms=times[-1], amp_auto=auto.effective)


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpu", action="store_true", help="dry run on the CPU with tiny sizes (plumbing only)")
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument("--vendor", type=Path, help="carried folder of pure-Python dependencies (tqdm, yaml)")
    p.add_argument("--images", type=int, default=5, help="Set5 images in the fidelity check")
    p.add_argument("--repeats", type=int, default=20, help="timed calls per latency measurement")
    p.add_argument("--latency-tolerance", type=float, default=0.25, help="allowed |ratio - 1|")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="the compile fidelity check (default: on a GPU, off with --cpu: ~1 min a network there)")
    p.add_argument("--budget-s", type=float, default=200.0, help="no new compile check starts after this")
    args = p.parse_args(argv)
    args.out_hw, args.batch, args.patch = (720, 1280), 16, 48
    if args.cpu:
        args.device, args.out_hw, args.batch, args.patch = "cpu", (64, 64), 2, 12
        args.images, args.repeats = min(args.images, 1), min(args.repeats, 3)
    if args.compile is None:
        args.compile = not args.cpu
    return args


def main(argv=None) -> int:
    args = parse(argv)
    _imports(args.vendor)
    from srbench.eval.device import resolve_device

    device = resolve_device(args.device)
    report = Report(args.out)
    for check in (check_env, check_latency, check_fidelity, check_memory, check_train_step):
        try:
            check(report, device, args) if check is not check_env else check(report, device)
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others' results
            report.add(check.__name__, "FAIL", f"{type(exc).__name__}: {exc}")
    print(f"{'FAILED' if report.failed else 'ALL PASSED'} in {report.elapsed():.0f} s on {device}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
