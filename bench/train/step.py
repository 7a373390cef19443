"""One optimisation step of the trainer (:class:`Stepper`) and how a recipe builds it (:func:`build_stepper`)."""

from __future__ import annotations

import numpy as np
import torch

from srbench.core.errors import SrbenchError
from srbench.train.config import TrainConfig
from srbench.train.precision import Precision, resolve_precision


class Stepper:
    """One optimisation step of the trainer, split around the loss check: ``forward`` then ``update``.

    uint8 NHWC batches go to the device as uint8 and become float there (channels_last strides for free when asked);
    the forward pass runs in ``precision``'s context (:mod:`srbench.train.precision`: autocast, and on CPU bf16 the
    float32 weight gradients) through ``forward_fn`` (the network, or its ``torch.compile``); ``update`` does
    backward (scaled for fp16), gradient-norm clipping and the optimizer step. Also used by
    ``scripts/bench_train_throughput.py``.
    """

    def __init__(self, net, optimizer, loss_fn, device: torch.device, *, clip: float,
                 precision: Precision | None = None, scaler=None, channels_last: bool = False,
                 forward_fn=None) -> None:
        self.net, self.optimizer, self.loss_fn, self.device = net, optimizer, loss_fn, device
        self.clip, self.scaler, self.channels_last = clip, scaler, channels_last
        self.precision = precision if precision is not None else resolve_precision("none", device)
        self.forward_fn = forward_fn if forward_fn is not None else net
        self.params = [p for group in optimizer.param_groups for p in group["params"]]

    def forward(self, scale: int, lr_u8: np.ndarray, hr_u8: np.ndarray) -> torch.Tensor:
        from srbench.train.data import to_tensor

        x = to_tensor(lr_u8, self.device, channels_last=self.channels_last)
        y = to_tensor(hr_u8, self.device, channels_last=self.channels_last)
        with self.precision.autocast():
            sr = self.forward_fn(x, scale)
        return self.loss_fn(sr, y)

    def update(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()


def build_stepper(config: TrainConfig, model: torch.nn.Module, device: torch.device, precision: Precision, *,
                  net: torch.nn.Module | None = None) -> Stepper:
    """The trainer's step for ``model`` per ``config`` (optimizer, loss, clipping, precision, channels_last, compile);
    ``net`` is the module the step calls (the DistributedDataParallel wrapper under torchrun)."""
    from srbench.train.losses import get_loss

    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise SrbenchError(f"model {config.model!r} has no trainable parameters")
    optimizer = torch.optim.Adam(trainable, lr=config.lr)
    scaler = torch.amp.GradScaler("cuda") if precision.dtype == torch.float16 else None
    loss_fn = get_loss(config.loss, smoothl1_beta=config.smoothl1_beta, charbonnier_eps=config.charbonnier_eps)
    net = net if net is not None else model
    forward_fn = torch.compile(net) if config.compile else net
    return Stepper(net, optimizer, loss_fn, device, clip=config.clip, precision=precision, scaler=scaler,
                   channels_last=config.channels_last, forward_fn=forward_fn)
