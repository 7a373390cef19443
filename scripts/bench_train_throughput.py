#!/usr/bin/env python
"""Training throughput (images/s) of srbench's trainer step against a plain reference loop, in one process.

Both train the same architecture (same build, same initial weights) on the same h5 file with the same batch size,
patch size, Adam, loss and gradient clipping. They differ only in what the trainer adds:

* trainer: what ``srbench train`` runs for the same recipe fields: :class:`srbench.train.data.PatchSampler` (a batch
  drawn and cropped with vectorised numpy indexing, uint8 NHWC, converted once on the device) behind a
  :class:`srbench.train.data.Prefetcher` (drawn ahead in a background thread) and the step of
  :func:`srbench.train.trainer.build_stepper` (``--amp``, default ``auto``: bf16 where the device has fast bf16, see
  :mod:`srbench.train.precision`; ``--channels-last``; ``--compile``);
* reference: the straightforward loop (the authors' style): a ``torch.utils.data.Dataset`` whose ``__getitem__``
  crops, flips/rotates and converts one sample to a float CHW tensor, a ``DataLoader`` (no workers) collating
  them, an NCHW model, ``loss.backward()``, ``clip_grad_norm_``, ``optimizer.step()``.

The two loops run in alternating rounds (noise from other processes hits both alike); the script prints each
round's images/s and ratio, and the median of the rounds' ratios (robust to a round that another process slowed).
Not a test: timings depend on the machine and its load.

    .venv/bin/python scripts/bench_train_throughput.py --model ecdn_m --scale 2 --batch 16 --patch 32
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srbench.eval.device import describe_device, resolve_device  # noqa: E402
from srbench.train.config import AMP_MODES, TrainConfig  # noqa: E402
from srbench.train.data import H5Images, PatchSampler, Prefetcher  # noqa: E402
from srbench.train.losses import get_loss  # noqa: E402
from srbench.train.precision import describe, resolve_precision  # noqa: E402
from srbench.train.trainer import build_stepper  # noqa: E402


class NaiveDataset(torch.utils.data.Dataset):
    """Random (LR, HR) float patches, one sample at a time (the usual SR training dataset)."""

    def __init__(self, images: H5Images, scale: int, patch: int, length: int) -> None:
        self.hr, self.lr = images.pairs(scale)
        self.ok = [i for i, l in enumerate(self.lr) if min(l.shape[:2]) >= patch]
        self.scale, self.patch, self.length = scale, patch, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        i = self.ok[np.random.randint(len(self.ok))]
        lr, hr, p, s = self.lr[i], self.hr[i], self.patch, self.scale
        y, x = np.random.randint(lr.shape[0] - p + 1), np.random.randint(lr.shape[1] - p + 1)
        lr, hr = lr[y:y + p, x:x + p], hr[y * s:(y + p) * s, x * s:(x + p) * s]
        if np.random.rand() < 0.5:
            lr, hr = np.flipud(lr), np.flipud(hr)
        if np.random.rand() < 0.5:
            lr, hr = np.fliplr(lr), np.fliplr(hr)
        k = np.random.randint(4)
        lr, hr = np.rot90(lr, k), np.rot90(hr, k)
        to = lambda a: torch.from_numpy(np.ascontiguousarray(a).transpose(2, 0, 1).astype(np.float32) / 255)  # noqa
        return to(lr), to(hr)


def _arguments():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="ecdn_m")
    ap.add_argument("--scale", type=int, default=2, choices=[2, 3, 4])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=32, help="LR patch side")
    ap.add_argument("--steps", type=int, default=10, help="steps per round and loop")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--loss", default="L1")
    ap.add_argument("--channels-last", type=int, default=1, choices=[0, 1], help="trainer uses channels_last")
    ap.add_argument("--amp", default="auto", choices=AMP_MODES, help="trainer precision (default auto)")
    ap.add_argument("--compile", type=int, default=0, choices=[0, 1], help="trainer uses torch.compile")
    ap.add_argument("--prefetch", type=int, default=2, help="trainer's batches drawn ahead (0: none)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data", default=None, help="h5 training file (default: T91 prepared into the store)")
    return ap.parse_args()


def main() -> int:
    args = _arguments()
    from srbench.models import create_model

    device = resolve_device(args.device)
    if args.data is None:
        from srbench.data.prepare import cached_h5_for_folder
        from srbench.core.store import train_root

        args.data = cached_h5_for_folder(train_root() / "T91")
    images = H5Images(args.data)
    loss_fn = get_loss(args.loss)
    config = TrainConfig(model=args.model, scale=args.scale, loss=args.loss, batch_size=args.batch,
                         patch_size=args.patch, clip=10.0, lr=1e-4, amp=args.amp,
                         channels_last=bool(args.channels_last), compile=bool(args.compile), prefetch=args.prefetch,
                         train_data=str(args.data), device=str(device))
    precision = resolve_precision(config.amp, device)

    torch.manual_seed(0)
    trainer_model = create_model(args.model, scales=args.scale, device=str(device)).train()
    ref_model = create_model(args.model, scales=args.scale, device=str(device)).train()
    ref_model.load_state_dict(trainer_model.state_dict())
    if config.channels_last:
        trainer_model = trainer_model.to(memory_format=torch.channels_last)
    stepper = build_stepper(config, trainer_model, device, precision)
    batches_t = Prefetcher(PatchSampler(images, (args.scale,), args.batch, args.patch, seed=0), config.prefetch)
    opt_r = torch.optim.Adam([p for p in ref_model.parameters() if p.requires_grad], lr=1e-4)
    np.random.seed(0)
    loader = torch.utils.data.DataLoader(NaiveDataset(images, args.scale, args.patch, 10**9),
                                         batch_size=args.batch, shuffle=False, num_workers=0)
    batches = iter(loader)
    ref_params = [p for p in ref_model.parameters() if p.requires_grad]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def trainer_steps(n: int) -> float:
        sync()
        t0 = time.perf_counter()
        for _ in range(n):
            scale, lr_u8, hr_u8 = batches_t.next_batch()
            loss = stepper.forward(scale, lr_u8, hr_u8)
            loss.item()  # the trainer checks every loss (NaN stop)
            stepper.update(loss)
        sync()
        return n * args.batch / (time.perf_counter() - t0)

    def reference_steps(n: int) -> float:
        sync()
        t0 = time.perf_counter()
        for _ in range(n):
            lr, hr = next(batches)
            lr, hr = lr.to(device), hr.to(device)
            loss = loss_fn(ref_model(lr, args.scale), hr)
            opt_r.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(ref_params, 10.0)
            opt_r.step()
            loss.item()
        sync()
        return n * args.batch / (time.perf_counter() - t0)

    print(f"{args.model} x{args.scale}, batch {args.batch}, LR patch {args.patch}, {describe_device(device)}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"trainer: channels_last={config.channels_last} amp={config.amp} -> {describe(precision)}, "
          f"compile={config.compile}, prefetch={config.prefetch}; reference: float32, NCHW, eager, DataLoader")
    trainer_steps(5 if config.compile else 2)  # warm-up (allocations, data loading, compiling)
    reference_steps(2)
    t_rates, r_rates = [], []
    for r in range(args.rounds):
        t_rates.append(trainer_steps(args.steps))
        r_rates.append(reference_steps(args.steps))
        print(f"round {r + 1}: trainer {t_rates[-1]:8.1f} img/s   reference {r_rates[-1]:8.1f} img/s   "
              f"ratio {t_rates[-1] / r_rates[-1]:.2f}x")
    t, ref = statistics.median(t_rates), statistics.median(r_rates)
    ratio = statistics.median(a / b for a, b in zip(t_rates, r_rates))
    print(f"median: trainer {t:.1f} img/s, reference {ref:.1f} img/s; ratio {ratio:.2f}x (median of the rounds' "
          f"ratios; ratio of the medians {t / ref:.2f}x)")
    batches_t.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
