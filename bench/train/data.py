"""Training patches from the h5 training file: random crops, flips and 90° rotations, one scale per batch.

:class:`H5Images` reads the file of :mod:`data.prepare` (or the authors' ``div2h5.py``) and loads only what a scale
needs, when first needed: the ``HR`` group and the ``X<s>`` group of that scale. Sets that fit in
``$SRBENCH_H5_MEMORY_MB`` (default 4096) are kept in memory, each group packed into one flat pixel array (the images
are views into it); larger ones are read patch by patch from the file.

:class:`PatchSampler` draws every random number from two numpy generators whose state is part of the training
checkpoint (so a resumed run draws the same batches): the *scale* generator (seeded by ``seed`` alone, identical in
every process, so all DistributedDataParallel ranks train the same head at a step) and the *patch* generator (seeded
by ``seed`` and the rank). A batch of ``n`` patches at scale ``s`` draws, each as one vector of ``n`` values: the
images (uniform), the LR patch rows and columns (uniform), the up-down flips, the left-right flips (p = 0.5 each) and
the rotations k·90° (k uniform in 0..3): the authors' ``random_flip_and_rotate``; the HR patch is at ``s`` times the
LR position. In memory, the crops are gathered at once by numpy indexing of a strided view of the packed pixels (one
index per crop row), and the flips/rotations are applied by :func:`augment_batch` with one operation per distinct
choice: a batch costs a few vector operations instead of a Python loop per patch.

:class:`Prefetcher` draws the batches in a background thread, a few ahead of the training step, and keeps the
sampler state that belongs to the last batch *consumed*, which is what a checkpoint must hold.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
from pathlib import Path

import numpy as np
import torch
from numpy.lib.stride_tricks import as_strided

from srbench.core.errors import SrbenchError


def _memory_limit_bytes() -> int:
    return int(float(os.environ.get("SRBENCH_H5_MEMORY_MB", "4096")) * 2**20)


class Packed:
    """One group's images in one array: ``pixels`` (total pixels x 3, uint8); image ``i`` is the ``heights[i]`` x
    ``widths[i]`` block of rows starting at ``offsets[i]``."""

    def __init__(self, pixels: np.ndarray, offsets: np.ndarray, widths: np.ndarray) -> None:
        self.pixels, self.offsets, self.widths = pixels, offsets, widths


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
        self._packed: dict[str, Packed] = {}

    def close(self) -> None:
        self._file.close()

    def _read_group(self, group: str, in_memory: bool) -> list:
        """The images of ``group``: views into one packed array when ``in_memory`` (see :meth:`packed`), else the
        h5 datasets themselves (read patch by patch)."""
        if group not in self._file:
            raise SrbenchError(f"{self.path}: no {group} group; prepare it with `srbench prepare ... --scales "
                               f"{group[1:]}` or use another scale")
        g = self._file[group]
        if len(g) != self.count:
            raise SrbenchError(f"{self.path}: group {group} holds {len(g)} images but HR holds {self.count}")
        datasets = []
        for i in range(self.count):
            key = str(i)
            try:
                ds = g[key]
                if ds.ndim != 3 or ds.shape[2] != 3 or ds.dtype != np.uint8:
                    raise SrbenchError(f"{self.path}: {group}/{key} is {ds.dtype} {ds.shape}, expected uint8 HxWx3")
                datasets.append(ds)
            except SrbenchError:
                raise
            except (KeyError, OSError, RuntimeError, ValueError) as exc:
                raise SrbenchError(f"{self.path}: cannot read {group}/{key} ({exc}); the file is corrupt, rebuild "
                                   f"it with `srbench prepare`") from None
        if not in_memory:
            return datasets
        sizes = [ds.shape[0] * ds.shape[1] for ds in datasets]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        pixels = np.empty((int(offsets[-1]), 3), dtype=np.uint8)
        out = []
        for i, ds in enumerate(datasets):
            view = pixels[offsets[i]:offsets[i + 1]].reshape(ds.shape)
            try:
                view[...] = ds[()]
            except (OSError, RuntimeError, ValueError) as exc:
                raise SrbenchError(f"{self.path}: cannot read {group}/{i} ({exc}); the file is corrupt, rebuild "
                                   f"it with `srbench prepare`") from None
            out.append(view)
        self._packed[group] = Packed(pixels, offsets[:-1], np.array([ds.shape[1] for ds in datasets], np.int64))
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

    def packed(self, scale: int) -> tuple[Packed, Packed] | None:
        """(HR, LR at ``scale``) as packed pixel arrays when both are in memory, else None (file-backed)."""
        self.pairs(scale)
        hr, lr = self._packed.get("HR"), self._packed.get(f"X{scale}")
        return (hr, lr) if hr is not None and lr is not None else None


def augment(img: np.ndarray, flip_ud: bool, flip_lr: bool, rot: int) -> np.ndarray:
    """The authors' ``random_flip_and_rotate`` with given choices (a view when possible)."""
    if flip_ud:
        img = img[::-1]
    if flip_lr:
        img = img[:, ::-1]
    return np.rot90(img, rot) if rot else img


#: The 16 equally likely (flip up-down, flip left-right, rotation) choices of :func:`augment`, in draw order.
AUGMENTS = [(bool(c >> 3 & 1), bool(c >> 2 & 1), c & 3) for c in range(16)]


def augment_batch(patches: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """:func:`augment` of every patch (N x h x w x C) with its :data:`AUGMENTS` index, one numpy operation per
    distinct choice (at most 16) instead of one per patch."""
    out = np.empty_like(patches)
    for c in np.unique(choice):
        sel = np.flatnonzero(choice == c)
        out[sel] = augment(patches[sel].transpose(1, 2, 0, 3), *AUGMENTS[c]).transpose(2, 0, 1, 3)
    return out


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
        self._shapes: dict[int, np.ndarray] = {}

    def eligible(self, scale: int) -> np.ndarray:
        """Indices of the images whose LR is at least one patch large at ``scale``."""
        if scale not in self._eligible:
            _, lr = self.images.pairs(scale)
            p = self.patch_size
            self._shapes[scale] = np.array([l.shape[:2] for l in lr], dtype=np.int64).reshape(-1, 2)
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

    def draw(self, scale: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The random choices of ``n`` patches at ``scale``: image indices, LR rows, LR columns and the
        :data:`AUGMENTS` index of each (four int64 vectors)."""
        ok = self.eligible(scale)
        rng, p = self.patch_rng, self.patch_size
        image = ok[rng.integers(ok.size, size=n)]
        shape = self._shapes[scale][image]
        y = rng.integers(0, shape[:, 0] - p + 1)
        x = rng.integers(0, shape[:, 1] - p + 1)
        flips = rng.random((2, n)) < 0.5
        rot = rng.integers(4, size=n)
        return image, y, x, flips[0] * 8 + flips[1] * 4 + rot

    def sample(self, scale: int, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A batch of (LR N×p×p×3, HR N×sp×sp×3) uint8 patches at ``scale``."""
        n = self.batch_size if batch_size is None else batch_size
        image, y, x, choice = self.draw(scale, n)
        p, hp = self.patch_size, self.patch_size * scale
        packed = self.images.packed(scale)
        if packed is not None:
            hr_pack, lr_pack = packed
            lr, hr = _crops(lr_pack, image, y, x, p), _crops(hr_pack, image, y * scale, x * scale, hp)
        else:  # file-backed: read each crop
            hr_imgs, lr_imgs = self.images.pairs(scale)
            lr = np.empty((n, p, p, 3), dtype=np.uint8)
            hr = np.empty((n, hp, hp, 3), dtype=np.uint8)
            for k, (i, yy, xx) in enumerate(zip(image.tolist(), y.tolist(), x.tolist())):
                lr[k] = lr_imgs[i][yy:yy + p, xx:xx + p]
                hr[k] = hr_imgs[i][yy * scale:yy * scale + hp, xx * scale:xx * scale + hp]
        return augment_batch(lr, choice), augment_batch(hr, choice)

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


def _crops(pack: Packed, image: np.ndarray, top: np.ndarray, left: np.ndarray, size: int) -> np.ndarray:
    """``size`` x ``size`` crops of a packed group at (top[k], left[k]) of image[k], gathered at once: a strided view
    whose row j is the ``size`` pixels starting at pixel j of the pack, indexed by every crop row's first pixel."""
    px = pack.pixels
    rows = as_strided(px, shape=(px.shape[0] - size + 1, size, 3), strides=(px.strides[0], px.strides[0],
                                                                            px.strides[1]), writeable=False)
    first = (pack.offsets[image] + left)[:, None] + (top[:, None] + np.arange(size)) * pack.widths[image][:, None]
    return rows[first]


class Prefetcher:
    """The sampler's batches, drawn ``depth`` ahead by a background thread (``depth`` 0: drawn on demand).

    :meth:`state_dict` is the sampler state right after the last batch handed out by :meth:`next_batch`, so a
    checkpoint resumes with exactly the next batch whatever was prefetched. An error in the thread is raised by the
    :meth:`next_batch` call that would have returned that batch. Start it after the sampler's state is restored.
    """

    def __init__(self, sampler: PatchSampler, depth: int = 2) -> None:
        self.sampler, self.depth = sampler, depth
        self._state = sampler.state_dict()
        self._stop = threading.Event()
        self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._thread = None
        self._error: BaseException | None = None
        if depth > 0:
            self._thread = threading.Thread(target=self._run, name="srbench-prefetch", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = (self.sampler.next_batch(), self.sampler.state_dict())
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
                item = exc
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException):
                return

    def next_batch(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(scale, LR patches, HR patches) of the next batch, in the sampler's order."""
        if self._thread is None:
            batch = self.sampler.next_batch()
            self._state = self.sampler.state_dict()
            return batch
        if self._error is not None:
            raise self._error
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._error = item
            raise item
        batch, self._state = item
        return batch

    def state_dict(self) -> dict:
        return self._state

    def close(self) -> None:
        """Stop the thread (it finishes the batch it is drawing)."""
        self._stop.set()
        if self._thread is not None:
            while self._thread.is_alive():
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
                self._thread.join(timeout=0.05)


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
