"""Peak memory of one forward pass: the most memory its live tensors ever occupy at once, in MiB.

Definition (``peak_mem_mb``): run ``model(x, scale)`` once on the fixed LR input of :mod:`srbench.eval.latency`
(the one that gives the cell's output size) and record every allocation and free the pass makes; the figure is the
maximum, over the pass, of the bytes allocated during it and not yet freed: activations, intermediate copies, the
workspace that operators allocate as tensors, and the output itself. The weights, the input and whatever was
allocated before the pass do not count. It depends only on the network, the scale, the output size and the
operators torch picks (device, thread count, library versions: all in the cell key), not on what ran earlier in the
process, and it is the same on every repeat.

* CPU: torch's profiler with memory accounting (``profile_memory=True``) reports each allocation and free of the
  CPU allocator with its time; the peak of their running sum is the figure. (The previous measure, the rise of the
  process's peak resident set, was only a lower bound: memory the allocator kept from earlier cells was reused
  without raising it.) Memory that a library allocates past torch's allocator is not seen.
* CUDA: ``torch.cuda.max_memory_allocated`` above the memory allocated before the pass (the same definition; the
  caching allocator counts live blocks, not what it keeps cached).
* Elsewhere (MPS): not measured (None).
"""

from __future__ import annotations

import os

import torch

from srbench.eval.latency import fixed_input


def _live_peak_bytes(events) -> int:
    """The peak of the running sum of allocation (+bytes) and free (-bytes) events taken in time order."""
    live = peak = 0
    for _, nbytes in sorted(events):
        live += nbytes
        peak = max(peak, live)
    return peak


def cpu_peak_bytes(run) -> int:
    """Peak bytes of live CPU tensors allocated while ``run()`` executes (see the module docstring).

    Recorded by ``torch.autograd.profiler.profile``, the recorder behind ``torch.profiler.profile`` (the same kineto
    events): the latter's first use imports ``torch._inductor`` and ``torch._dynamo`` to read one setting, 1.5 s and
    67 MiB kept for the rest of the process (``tests/test_memory.py`` checks that nothing imports them)."""
    from torch.autograd.profiler import profile

    os.environ.setdefault("KINETO_LOG_LEVEL", "6")  # silences kineto's profiler_start/stop lines on stderr
    with profile(use_cpu=True, profile_memory=True) as prof:
        run()
    events = [(e.start_ns(), e.nbytes()) for e in prof.kineto_results.events() if e.name() == "[memory]"
              and e.device_type() == torch.autograd.DeviceType.CPU]
    return _live_peak_bytes(events)


def measure_peak_memory_mb(model: torch.nn.Module, scale: int, device: torch.device, *,
                           out_hw: tuple[int, int] = (720, 1280)) -> float | None:
    """Peak memory (MiB) of live tensors during one forward pass producing ``out_hw``; None where not measurable.

    The model must already be in its BN mode."""
    x = fixed_input(scale, out_hw, device)
    with torch.inference_mode():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            before = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
            model(x, scale)
            torch.cuda.synchronize(device)
            return (torch.cuda.max_memory_allocated(device) - before) / 2**20
        if device.type != "cpu":
            return None
        return cpu_peak_bytes(lambda: model(x, scale)) / 2**20
