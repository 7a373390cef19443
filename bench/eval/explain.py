"""Protocol sensitivity of one cell: its PSNR/SSIM under the standard protocol and under every deviation of one knob
(or of two), measured with one forward pass per distinct network input.

"Why does my PSNR differ from the paper?" is nearly always one of the protocol's knobs. :func:`deviations` lists
every alternative value of every knob that a published number may have used (``double_scale`` and ``lpips_input``
are left out: the first is a bug's 48 dB, the second does not touch PSNR/SSIM); :func:`pair_deviations` every pair of
the knobs that need no new forward pass (the measuring knobs: both measured on the standard outputs; not ``luma``
with RGB, where it does nothing). :func:`explain_cell` then measures them all:

* the forward passes are grouped by what the network sees: the LR input (``Protocol.lr_input``) and the BN mode.
  Each distinct network input runs through the network exactly once: LR inputs are compared by content, so two
  generators that make the very same pixels for an image (the shipped MATLAB file and srbench's MATLAB generator;
  mod-crop or not when the HR sides are already multiples of the scale) share one pass and its scores;
* each output is scored under every deviation of its group by one :class:`srbench.eval.scoring.ImageScorer`, which
  computes each quantisation, plane, MSE and SSIM once, with exactly the arithmetic of ``srbench evaluate``; the
  HR side (its measured planes and SSIM's filtered maps of them, :class:`srbench.eval.scoring.Reference`) is
  computed once per image for all its LR inputs (the images are measured one after the other, each under every
  LR input of a BN mode), SSIM's maps of a plane kept only where several outputs read them;
* a background thread reads the images' LR inputs and another runs their forward passes, each output scored as
  soon as its pass is done while the next ones run (:func:`srbench.core.ahead.ahead`): the same passes and scores,
  overlapped in time. On a machine with two cores the scoring keeps to one
  (:func:`srbench.eval.metrics.on_one_thread`), the passes to the other.

:func:`match_published` compares the rows with a printed PSNR (and SSIM): the rows whose values round to the printed
ones, or else the nearest single deviation (and pair), with the residual.
"""

from __future__ import annotations

import itertools
import math
import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable

import numpy as np
from tqdm.auto import tqdm

from srbench.core.ahead import ahead
from srbench.core.constants import LR_SOURCES
from srbench.core.errors import SrbenchError
from srbench.data import lr_generators
from srbench.data.datasets import Sample, load_samples
from srbench.eval.device import cuda_math, torch_threads
from srbench.eval.evaluate import forward_pass
from srbench.eval.latency import host_compute
from srbench.eval.metrics import on_one_thread
from srbench.eval.protocol import AGGREGATES, COLORS, GRAY_MODES, LUMAS, QUANTIZE, SSIM_VARIANTS, Protocol
from srbench.eval.scoring import (ImageScore, ImageScorer, Reference, dataset_psnr, plane_key, same_pixels,
                                   ssim_window)

#: knobs whose alternatives are measured (lr_source and lr_modcrop together as ``lr_input``)
MEASURE_KNOBS = {"color": COLORS, "luma": LUMAS, "gray": GRAY_MODES, "quantize": QUANTIZE, "ssim": SSIM_VARIANTS,
                 "aggregate": AGGREGATES}
#: knobs that change what the network sees (a new forward pass per value)
FORWARD_KNOBS = ("lr_input", "bn_mode")


@dataclass(frozen=True)
class Deviation:
    """A protocol deviation: ``knob`` (``gray``, ``lr_input``, or ``gray + quantize`` for a pair), the ``value`` as
    printed (``raw``, ``pil/full``, ``raw + truncate``) and the protocol knobs it changes."""

    knob: str
    value: str
    changes: tuple[tuple[str, object], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.knob}: {self.value}" if self.changes else "standard"

    @property
    def is_pair(self) -> bool:
        return "+" in self.knob

    def protocol(self, base: Protocol) -> Protocol:
        return base.with_(**dict(self.changes)) if self.changes else base


STANDARD = Deviation("standard", "-")


def _lr_changes(lr_input: str) -> tuple[tuple[str, object], ...]:
    source, modcrop = lr_generators.split_lr_input(lr_input)
    return (("lr_source", source), ("lr_modcrop", modcrop))


def lr_inputs() -> list[str]:
    """Every LR input: each source with mod-crop, then each generated one without (``file`` has no such variant)."""
    return [*LR_SOURCES, *(f"{s}{lr_generators.FULL_SUFFIX}" for s in LR_SOURCES if s != "file")]


def deviations(base: Protocol, *, has_bn: bool, notes: list[str] | None = None) -> list[Deviation]:
    """Every single-knob deviation from ``base``; LR sources whose optional package is missing are left out with a
    line in ``notes``; ``bn_mode`` only for a network with BatchNorm (it changes nothing otherwise)."""
    out: list[Deviation] = []
    for knob, values in MEASURE_KNOBS.items():
        if knob == "luma" and base.color != "y":
            continue
        out += [Deviation(knob, v, ((knob, v),)) for v in values if v != getattr(base, knob)]
    border = 0 if base.border == "scale" else "scale"
    out.append(Deviation("border", str(border), (("border", border),)))
    missing: set[str] = set()
    for lr_input in lr_inputs():
        source, _ = lr_generators.split_lr_input(lr_input)
        if lr_input == base.lr_input:
            continue
        if source != "file" and not lr_generators.available(source):
            missing.add(source)
            continue
        out.append(Deviation("lr_input", lr_input, _lr_changes(lr_input)))
    for source in sorted(missing):
        if notes is not None:
            notes.append(f"note: LR source {source!r} left out: its package is not installed "
                         f"({'opencv-python-headless' if source == 'opencv' else source})")
    if has_bn:
        out += [Deviation("bn_mode", m, (("bn_mode", m),)) for m in ("eval", "batch") if m != base.bn_mode]
    return out


def _forward_knob(d: Deviation) -> str | None:
    return d.knob if d.knob in FORWARD_KNOBS else None


def pair_deviations(singles: list[Deviation]) -> list[Deviation]:
    """Every pair of single deviations of two different knobs that need no new forward pass (neither changes the
    network's input or BN mode: both are measured on the standard outputs) and where both knobs act (not ``luma``
    with ``color: rgb``)."""
    out = []
    for a, b in itertools.combinations(singles, 2):
        if a.knob == b.knob or _forward_knob(a) or _forward_knob(b):
            continue
        knobs = {a.knob: a.value, b.knob: b.value}
        if "luma" in knobs and knobs.get("color") == "rgb":
            continue
        out.append(Deviation(f"{a.knob} + {b.knob}", f"{a.value} + {b.value}", a.changes + b.changes))
    return out


@dataclass
class Row:
    """One deviation's dataset means, and their difference from the standard row."""

    deviation: Deviation
    psnr: float
    ssim: float
    d_psnr: float = 0.0
    d_ssim: float = 0.0

    def as_dict(self) -> dict:
        d = self.deviation
        return {"knob": d.knob, "value": d.value, "changes": {k: v for k, v in d.changes}, "pair": d.is_pair,
                "psnr": self.psnr, "ssim": self.ssim, "d_psnr": self.d_psnr, "d_ssim": self.d_ssim}


@dataclass
class Explained:
    """What :func:`explain_cell` measured: the rows (standard first), the forward passes it ran, and notes."""

    dataset: str
    scale: int
    base: Protocol
    rows: list[Row]
    forward_passes: int
    forward_s: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "scale": self.scale, "protocol": self.base.as_dict(),
                "forward_passes": self.forward_passes, "forward_s": self.forward_s, "notes": self.notes,
                "rows": [r.as_dict() for r in self.rows]}


def _same_input(a: Sample, b: Sample) -> bool:
    """Two samples the network sees alike and that are measured against the same HR: two LR inputs with the same
    pixels (the shipped MATLAB file and srbench's MATLAB generator; mod-crop or not when the HR sides are already
    multiples of the scale) are one network input, run once, and their outputs are scored once."""
    return a.gray == b.gray and same_pixels(a.lr, b.lr) and same_pixels(a.hr, b.hr)


@dataclass
class _ImageInputs:
    """One image's network inputs: its sample under each LR input of a BN mode, and for each the index of the
    distinct input it is (``which``; ``distinct`` of them, each run through the network once)."""

    samples: list[Sample]
    which: list[int]
    distinct: int


@dataclass
class _Pass:
    """One forward pass: the ``k``-th distinct input of ``image``, its output and the seconds the pass took."""

    image: _ImageInputs
    k: int
    output: np.ndarray
    seconds: float

    @property
    def last_of_image(self) -> bool:
        return self.k == self.image.distinct - 1


def _cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _passes(images: Iterable[tuple[Sample, ...]], runner, scale: int, device):
    """Per image (its samples under every LR input): one forward pass per distinct network input (the first sample
    with those pixels; :func:`_same_input`), each handed over as soon as it is done (:class:`_Pass`)."""
    for samples in images:
        distinct: list[Sample] = []
        which: list[int] = []
        for sample in samples:
            k = next((i for i, seen in enumerate(distinct) if _same_input(seen, sample)), None)
            if k is None:  # a distinct LR input: its one forward pass
                k = len(distinct)
                distinct.append(sample)
            which.append(k)
        image = _ImageInputs(list(samples), which, len(distinct))
        for k, sample in enumerate(distinct):
            out, elapsed = forward_pass(runner, sample.lr, scale, device)
            yield _Pass(image, k, out, elapsed)


def network_inputs(base: Protocol, variants: list[Deviation]) -> dict[str, dict[str, list[tuple[Deviation, Protocol]]]]:
    """What the network sees for ``variants`` (the standard included, if measured): BN mode -> LR input -> the
    variants measured on those outputs, each with its protocol, in the variants' order."""
    modes: dict[str, dict[str, list[tuple[Deviation, Protocol]]]] = {}
    for v in variants:
        p = v.protocol(base)
        modes.setdefault(p.bn_mode, {}).setdefault(p.lr_input, []).append((v, p))
    return modes


def passes_threads(runner):
    """The torch threads explain's passes run under (a context manager): one for a model that computes on the host
    in numpy (bicubic), whose torch operators are only conversions, since a second torch thread makes each of them
    wait for a core that the scoring holds (bicubic Set14 x4 on two cores: 76 passes 1.0 s, 0.71 s on one thread);
    torch's own count for a network, whose convolutions use every thread."""
    return torch_threads(1) if host_compute(runner) else nullcontext()


#: forward passes the passes' thread may have ready ahead of the scoring (their outputs wait in memory)
PASSES_AHEAD = 4


def explain_cell(runner_for: Callable[[str], Callable], dataset: str, scale: int, *, base: Protocol,
                 variants: list[Deviation], device="cpu", progress: bool = True,
                 notes: list[str] | None = None) -> Explained:
    """Measure ``dataset`` at ``scale`` under ``base`` and each of ``variants``: one forward pass per image and per
    distinct (LR input, BN mode), each output scored under every variant that uses it. LR inputs are distinct by
    content (:func:`srbench.eval.scoring.same_pixels`): generators that make the very same pixels share one pass
    and one scorer.

    The inputs are read by one background thread and run through the network by another, each output scored as soon
    as its pass is done, while the next passes run (:func:`srbench.core.ahead.ahead`): the same passes and scores in
    the same order, overlapped in time. ``runner_for(bn_mode)`` gives what runs the network in that BN mode (called
    once per mode needed).
    """
    variants = [STANDARD, *variants]
    protocols = {v: v.protocol(base) for v in variants}
    scores: dict[Deviation, list[ImageScore]] = {v: [] for v in variants}
    seconds: list[float] = []  # of every forward pass
    for bn_mode, groups in network_inputs(base, variants).items():  # one BN mode after the other: an eager runner sets it on the model
        runner = runner_for(bn_mode)
        members = list(groups.values())
        sample_sets = [load_samples(dataset, scale, lr_source=lr_input) for lr_input in groups]
        # TF32 on CUDA as the protocol says (process-wide flags: the passes' thread runs under them too)
        with (cuda_math(device, tf32=base.tf32), passes_threads(runner), ahead(zip(*sample_sets), depth=2) as images,
              ahead(_passes(images, runner, scale, device), depth=PASSES_AHEAD) as passes,
              on_one_thread() if _cores() <= 2 else nullcontext(),
              tqdm(total=len(sample_sets[0]), unit="img", leave=False, disable=not progress,
                   desc=f"{dataset} x{scale} bn={bn_mode}: {len(groups)} LR inputs") as bar):
            reference = None
            for done in passes:
                if done.k == 0:  # the image's first pass: its HR side, computed once for all its outputs
                    first = done.image.samples[0]
                    reference = Reference(first.hr, gray=first.gray,
                                          shared=_shared_maps(done.image, members, first.gray))
                _score_output(done, members, scale, reference, scores)
                seconds.append(done.seconds)
                if done.last_of_image:
                    bar.update()
    rows = [Row(v, dataset_psnr(scores[v], protocols[v]), float(np.mean([s.ssim for s in scores[v]])))
            for v in variants]
    for r in rows:
        r.d_psnr, r.d_ssim = r.psnr - rows[0].psnr, r.ssim - rows[0].ssim
    return Explained(str(dataset), scale, base, rows, len(seconds), sum(seconds), list(notes or []))


def _score_output(done: _Pass, members: list[list[tuple[Deviation, Protocol]]], scale: int, reference: Reference,
                  scores: dict[Deviation, list[ImageScore]]) -> None:
    """Score one distinct output of an image under every variant measured on it (those of each LR input that is
    this network input), against the image's ``reference`` (its HR side, shared by all its outputs)."""
    scorer = None
    for sample, k, group in zip(done.image.samples, done.image.which, members):
        if k != done.k:
            continue
        if scorer is None:
            scorer = ImageScorer(done.output, sample.hr, scale=scale, gray=sample.gray, name=sample.name,
                                 reference=reference if reference.matches(sample.hr, sample.gray) else None)
        for v, protocol in group:
            scores[v].append(scorer.score(protocol))


def _shared_maps(image: _ImageInputs, members: list[list[tuple[Deviation, Protocol]]], gray: bool) -> set[tuple]:
    """The (plane key, SSIM window) pairs of the HR that more than one distinct output is measured on: only their
    SSIM maps are worth keeping (for bicubic Set14 x4, the standard Y plane's, read by about five outputs an image;
    the RGB, full-range and uniform-window ones are read by the standard output alone)."""
    users: dict[tuple, set[int]] = {}
    for k, group in zip(image.which, members):
        for _, p in group:
            users.setdefault((plane_key(p, gray), ssim_window(p)), set()).add(k)
    return {key for key, outputs in users.items() if len(outputs) > 1}


# -- matching a printed number ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Printed:
    """A published PSNR (and SSIM) as printed, with the number of decimals it was printed with."""

    psnr: float
    psnr_decimals: int
    ssim: float | None = None
    ssim_decimals: int = 4

    @classmethod
    def parse(cls, text: str) -> Printed:
        """``32.21/0.8948`` or ``32.21`` -> Printed; anything else is a one-line error."""
        parts = text.strip().split("/")
        try:
            if len(parts) not in (1, 2):
                raise ValueError
            values = [(float(p), len(p.partition(".")[2])) for p in parts]
        except ValueError:
            raise SrbenchError(f"--published {text!r}: expected PSNR/SSIM as printed, e.g. 32.21/0.8948 "
                               "(or 32.21)") from None
        (p, pd), (s, sd) = values[0], (values[1] if len(values) == 2 else (None, 4))
        if not 0 < p < 100 or (s is not None and not 0 <= s <= 1):
            raise SrbenchError(f"--published {text!r}: PSNR must be in dB (0-100) and SSIM in [0, 1]")
        return cls(p, pd, s, sd)

    def rounds_to(self, psnr: float, ssim: float) -> bool:
        """True when the measured values, rounded as printed, are the printed ones."""
        ok = round(psnr, self.psnr_decimals) == round(self.psnr, self.psnr_decimals)
        if self.ssim is not None:
            ok = ok and round(ssim, self.ssim_decimals) == round(self.ssim, self.ssim_decimals)
        return ok

    def distance(self, psnr: float, ssim: float) -> float:
        """The residual counted in units of the printed last digits: |dPSNR| / 10^-d + |dSSIM| / 10^-d'."""
        out = abs(psnr - self.psnr) * 10 ** self.psnr_decimals
        if self.ssim is not None:
            out += abs(ssim - self.ssim) * 10 ** self.ssim_decimals
        return out if math.isfinite(out) else math.inf

    @property
    def text(self) -> str:
        p = f"{self.psnr:.{self.psnr_decimals}f}"
        return p if self.ssim is None else f"{p}/{self.ssim:.{self.ssim_decimals}f}"


@dataclass
class Match:
    """Which rows explain a printed number: ``exact`` (rows that round to it) or the nearest single deviation and
    the nearest pair (None when no pair was measured), each with its residual printed − measured."""

    printed: Printed
    exact: list[Row]
    nearest: Row | None
    nearest_pair: Row | None

    def residual(self, row: Row) -> tuple[float, float | None]:
        return (self.printed.psnr - row.psnr, None if self.printed.ssim is None else self.printed.ssim - row.ssim)

    def lines(self) -> list[str]:
        """The verdict in words, one line per finding."""
        if self.exact:
            return [f"published {self.printed.text}: reproduced (rounds to the printed values) by "
                    + "; ".join(r.deviation.label for r in self.exact)]
        out = []
        for what, row in (("single knob", self.nearest), ("pair", self.nearest_pair)):
            if row is not None:
                dp, ds = self.residual(row)
                res = f"{dp:+.3f} dB" + ("" if ds is None else f", SSIM {ds:+.4f}")
                out.append(f"published {self.printed.text}: nearest {what} is {row.deviation.label} "
                           f"({row.psnr:.3f}/{row.ssim:.4f}; residual published - measured {res})")
        return out

    def as_dict(self) -> dict:
        def one(row: Row | None):
            if row is None:
                return None
            dp, ds = self.residual(row)
            return {"label": row.deviation.label, "psnr": row.psnr, "ssim": row.ssim, "residual_psnr": dp,
                    "residual_ssim": ds}
        return {"published": self.printed.text, "exact": [r.deviation.label for r in self.exact],
                "nearest": one(self.nearest), "nearest_pair": one(self.nearest_pair)}


def match_published(rows: list[Row], printed: Printed) -> Match:
    """The rows whose values round to ``printed`` (standard included); else the nearest single deviation and pair."""
    exact = [r for r in rows if printed.rounds_to(r.psnr, r.ssim)]
    singles = [r for r in rows if r.deviation.changes and not r.deviation.is_pair]
    pairs = [r for r in rows if r.deviation.is_pair]

    def nearest(candidates: list[Row]) -> Row | None:
        return min(candidates, key=lambda r: printed.distance(r.psnr, r.ssim)) if candidates else None

    return Match(printed, exact, None if exact else nearest(singles), None if exact else nearest(pairs))
