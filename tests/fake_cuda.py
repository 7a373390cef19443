"""A fake CUDA for tests on a machine without a GPU: devices, current device, streams, timing events, a clock.

What it models: each fake GPU has its own clock (milliseconds of work done on it); work submitted to ``cuda:N``
advances GPU N's clock only (as kernels on a tensor of cuda:N run on cuda:N's stream); an event records the clock of
the device whose stream it is recorded on (the current device's stream when none is given, as in torch). It also
answers the device queries srbench makes (name, capability, bf16 support, memory statistics) and records
``set_device`` calls. Tensors stay on the CPU: code under test must not move data to ``cuda`` itself (tests patch
the few functions that do).

What it cannot prove: anything about real GPUs: asynchronous execution, real stream semantics, kernel timing,
cuDNN's TF32 use, NCCL. It shows only that srbench asks the right device, on the right stream, in the right order.
"""

from __future__ import annotations

import contextlib

import torch


class FakeCuda:
    """State of the fake GPUs; :meth:`install` patches ``torch.cuda`` with it (through pytest's monkeypatch)."""

    def __init__(self, count: int = 2, *, capability: dict[int, tuple[int, int]] | None = None,
                 bf16_emulated: bool = True) -> None:
        self.count = count
        self.current = 0
        self.clock_ms = [0.0] * count
        self.capability = capability or {i: (9, 0) for i in range(count)}
        self.bf16_emulated = bf16_emulated
        self.calls: list[tuple] = []        # ("set_device", index), ("reset_peak", index), ...
        self.peak_bytes = [0] * count

    def index(self, device=None) -> int:
        if device is None:
            return self.current
        if isinstance(device, int):
            return device
        device = torch.device(device)
        return self.current if device.index is None else device.index

    def work(self, device, ms: float) -> None:
        """Work of ``ms`` milliseconds submitted to ``device`` (advances that GPU's clock)."""
        self.clock_ms[self.index(device)] += ms

    # ---- the torch.cuda surface
    def install(self, monkeypatch) -> FakeCuda:
        fake = self

        class Stream:
            def __init__(self, index: int) -> None:
                self.device_index = index

        class Event:
            def __init__(self, enable_timing: bool = False) -> None:
                self.time_ms: float | None = None

            def record(self, stream=None) -> None:
                index = fake.current if stream is None else stream.device_index
                self.time_ms = fake.clock_ms[index]

            def elapsed_time(self, end: Event) -> float:
                return end.time_ms - self.time_ms

        @contextlib.contextmanager
        def device(dev):
            saved = fake.current
            fake.current = fake.index(dev)
            try:
                yield
            finally:
                fake.current = saved

        def set_device(dev) -> None:
            fake.calls.append(("set_device", fake.index(dev)))
            fake.current = fake.index(dev)

        def reset_peak(dev=None) -> None:
            fake.calls.append(("reset_peak", fake.index(dev)))
            fake.peak_bytes[fake.index(dev)] = 0

        def bf16_supported(including_emulation: bool = True) -> bool:
            native = fake.capability[fake.current] >= (8, 0)
            return native or (including_emulation and fake.bf16_emulated)

        patches = {
            "is_available": lambda: True, "device_count": lambda: fake.count,
            "current_device": lambda: fake.current, "set_device": set_device, "device": device,
            "Event": Event, "current_stream": lambda dev=None: Stream(fake.index(dev)),
            "synchronize": lambda dev=None: fake.calls.append(("synchronize", fake.index(dev))),
            "get_device_name": lambda dev=None: f"Fake GPU {fake.index(dev)}",
            "get_device_capability": lambda dev=None: fake.capability[fake.index(dev)],
            "is_bf16_supported": bf16_supported, "reset_peak_memory_stats": reset_peak,
            "max_memory_allocated": lambda dev=None: fake.peak_bytes[fake.index(dev)],
            "memory_allocated": lambda dev=None: 0,
        }
        for name, value in patches.items():
            monkeypatch.setattr(torch.cuda, name, value, raising=False)
        return self
