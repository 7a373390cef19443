"""Training patches from the h5 training file: random crops, flips and 90° rotations, one scale per batch.

:class:`H5Images` reads the file of :mod:`data.prepare` (or the authors' ``div2h5.py``) and loads only what a scale
needs, when first needed: the ``HR`` group and the ``X<s>`` group of that scale. Sets that fit in
``$SRBENCH_H5_MEMORY_MB`` (default 4096) are kept in memory as numpy arrays; larger ones are read patch by patch from
the file.

:class:`PatchSampler` draws every random number from two numpy generators whose state is part of the training
checkpoint (so a resumed run draws the same batches): the *scale* generator (seeded by ``seed`` alone, identical in
every process, so all DistributedDataParallel ranks train the same head at a step) and the *patch* generator (seeded
by ``seed`` and the rank). A batch at scale ``s``: ``batch_size`` times, pick an image uniformly, an LR patch
position uniformly, the HR patch at ``s`` times that position, then (the authors' ``random_flip_and_rotate``) an
up-down flip with p = 0.5, a left-right flip with p = 0.5 and a rotation by k·90°, k uniform in 0..3.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from srbench.core.errors import SrbenchError


def _memory_limit_bytes() -> int:
    return int(float(os.environ.get("SRBENCH_H5_MEMORY_MB", "4096")) * 2**20)


class H5Images:
    """An h5 training file: per scale, aligned lists of HR and LR uint8 HxWx3 images (memory or file backed)."""

    def __init__(self, path: str | os.PathLike) -> None:
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise SrbenchError(f"{self.path}: training file not found; make it with `srbench prepare <images> -o "
                               f"{self.path}`")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise SrbenchError(f"{self.path}: not a readable HDF5 training file ({exc}); rebuild it with "
                               f"`srbench prepare`") from None
        if "HR" not in self._file:
            raise SrbenchError(f"{self.path}: no HR group; expected groups HR, X2, X3, X4 (make it with "
                               f"`srbench prepare`)")
        self.count = len(self._file["HR"])
        if self.count == 0:
            raise SrbenchError(f"{self.path}: the HR group holds no images")
        names = self._file.attrs.get("names")
        self.names = json.loads(names) if names is not None else [str(i) for i in range(self.count)]
        fp = self._file.attrs.get("fingerprint")  # None for files not made by `srbench prepare`
        self.fingerprint: str | None = fp.decode() if isinstance(fp, bytes) else (None if fp is None else str(fp))
        self._hr: list | None = None
        self._lr: dict[int, list] = {}

    def close(self) -> None:
        self._file.close()

    def _read_group(self, group: str, in_memory: bool) -> list:
        if group not in self._file:
            raise SrbenchError(f"{self.path}: no {group} group; prepare it with `srbench prepare ... --scales "
                               f"{group[1:]}` or use another scale")
        g = self._file[group]
        if len(g) != self.count:
            raise SrbenchError(f"{self.path}: group {group} holds {len(g)} images but HR holds {self.count}")
        out = []
        for i in range(self.count):
            key = str(i)
            try:
                ds = g[key]
                if ds.ndim != 3 or ds.shape[2] != 3 or ds.dtype != np.uint8:
                    raise SrbenchError(f"{self.path}: {group}/{key} is {ds.dtype} {ds.shape}, expected uint8 HxWx3")
                out.append(ds[()] if in_memory else ds)
            except SrbenchError:
                raise
            except (KeyError, OSError, RuntimeError, ValueError) as exc:
                raise SrbenchError(f"{self.path}: cannot read {group}/{key} ({exc}); the file is corrupt, rebuild "
                                   f"it with `srbench prepare`") from None
        return out

    def _fits_in_memory(self, scale: int) -> bool:
        try:
            groups = (["HR"] if self._hr is None else []) + [f"X{scale}"]
            need = sum(self._file[g][str(i)].nbytes for g in groups if g in self._file for i in range(self.count))
        except (KeyError, OSError, RuntimeError, ValueError):
            return True  # let _read_group report the broken dataset by name
        have = sum(a.nbytes for a in (self._hr or []) if isinstance(a, np.ndarray))
        have += sum(a.nbytes for lst in self._lr.values() for a in lst if isinstance(a, np.ndarray))
        return need + have <= _memory_limit_bytes()

    def pairs(self, scale: int) -> tuple[list, list]:
        """(HR images, LR images at ``scale``), loaded on first use."""
        if scale not in self._lr:
            in_memory = self._fits_in_memory(scale)
            if self._hr is None:
                self._hr = self._read_group("HR", in_memory)
            lr = self._read_group(f"X{scale}", in_memory)
            for i, (h, l) in enumerate(zip(self._hr, lr)):
                if l.shape[0] * scale > h.shape[0] or l.shape[1] * scale > h.shape[1]:
                    raise SrbenchError(f"{self.path}: X{scale}/{i} ({self.names[i]}) is {l.shape[1]}x{l.shape[0]}, "
                                       f"too large for its HR {h.shape[1]}x{h.shape[0]} at x{scale}")
            self._lr[scale] = lr
        return self._hr, self._lr[scale]


def augment(img: np.ndarray, flip_ud: bool, flip_lr: bool, rot: int) -> np.ndarray:
    """The authors' ``random_flip_and_rotate`` with given choices (a view when possible)."""
    if flip_ud:
        img = img[::-1]
    if flip_lr:
        img = img[:, ::-1]
    return np.rot90(img, rot) if rot else img


class PatchSampler:
    """Random (LR, HR) patch batches from :class:`H5Images`; its generators' states go into checkpoints."""

    def __init__(self, images: H5Images, scales: tuple[int, ...], batch_size: int, patch_size: int, seed: int,
                 rank: int = 0) -> None:
        self.images = images
        self.scales = tuple(scales)
        self.batch_size = batch_size
        self.patch_size = patch_size
        self.scale_rng = np.random.default_rng([seed, 0])
        self.patch_rng = np.random.default_rng([seed, 1, rank])
        self._eligible: dict[int, np.ndarray] = {}

    def eligible(self, scale: int) -> np.ndarray:
        """Indices of the images whose LR is at least one patch large at ``scale``."""
        if scale not in self._eligible:
            _, lr = self.images.pairs(scale)
            p = self.patch_size
            ok = np.array([i for i, l in enumerate(lr) if l.shape[0] >= p and l.shape[1] >= p], dtype=np.int64)
            if ok.size == 0:
                raise SrbenchError(f"{self.images.path}: no image is large enough for {p}x{p} LR patches at "
                                   f"x{scale}; lower patch_size")
            self._eligible[scale] = ok
        return self._eligible[scale]

    def next_scale(self) -> int:
        if len(self.scales) == 1:
            return self.scales[0]
        return int(self.scales[self.scale_rng.integers(len(self.scales))])

    def sample(self, scale: int, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A batch of (LR N×p×p×3, HR N×sp×sp×3) uint8 patches at ``scale``."""
        n = self.batch_size if batch_size is None else batch_size
        hr_imgs, lr_imgs = self.images.pairs(scale)
        ok = self.eligible(scale)
        p, rng = self.patch_size, self.patch_rng
        hp = p * scale
        lr_out = np.empty((n, p, p, 3), dtype=np.uint8)
        hr_out = np.empty((n, hp, hp, 3), dtype=np.uint8)
        for k in range(n):
            i = int(ok[rng.integers(ok.size)])
            lr, hr = lr_imgs[i], hr_imgs[i]
            y = int(rng.integers(lr.shape[0] - p + 1))
            x = int(rng.integers(lr.shape[1] - p + 1))
            flip_ud, flip_lr = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
            rot = int(rng.integers(4))
            lr_out[k] = augment(np.asarray(lr[y:y + p, x:x + p]), flip_ud, flip_lr, rot)
            hr_out[k] = augment(np.asarray(hr[y * scale:y * scale + hp, x * scale:x * scale + hp]), flip_ud, flip_lr,
                                rot)
        return lr_out, hr_out

    def next_batch(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(scale, LR patches, HR patches) of the next batch."""
        scale = self.next_scale()
        lr, hr = self.sample(scale)
        return scale, lr, hr

    def state_dict(self) -> dict:
        """Generator states (plain dicts of ints: safe for ``torch.load(weights_only=True)``)."""
        return {"scale_rng": self.scale_rng.bit_generator.state, "patch_rng": self.patch_rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.scale_rng.bit_generator.state = state["scale_rng"]
        self.patch_rng.bit_generator.state = state["patch_rng"]


def to_tensor(batch_u8: np.ndarray, device: torch.device, *, channels_last: bool) -> torch.Tensor:
    """N×H×W×3 uint8 -> N×3×H×W float in [0, 1] on ``device`` (channels_last memory when asked: no copy needed).

    The uint8 batch travels to the device (4x less than float) and is converted there.
    """
    t = torch.from_numpy(batch_u8)
    if device.type == "cuda":
        t = t.pin_memory().to(device, non_blocking=True)
    else:
        t = t.to(device)
    t = t.permute(0, 3, 1, 2)  # a channels_last-strided view of NHWC data
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return t.to(dtype=torch.float32, memory_format=fmt).div_(255.0)
