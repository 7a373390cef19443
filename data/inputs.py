"""A benchmark's inputs made ready before its first cell: one-time work of a fresh clone, kept out of the cells.

Urban100 ships no LR images: the first cell at each scale would make 100 of them (MATLAB bicubic, about a tenth of a
second each) and every first read of an image decodes its PNG and writes the decoded copy that later reads use
(:mod:`srbench.data.decoded_files`). :func:`prepare_inputs` does that work up front, with its own progress bar, so
the cells' timings hold only what every run repeats; ``srbench benchmark`` logs its seconds apart
(``between_cells.prepare_inputs_s``). The values are the very ones the cells would have made: the same code reads
and caches them. On a second run every sample is ready and this costs a few file checks.
"""

from __future__ import annotations

from collections.abc import Iterable

from tqdm.auto import tqdm

from srbench.data import datasets
from srbench.data.datasets import hr_paths, resolve_dataset, sample_ready


#: samples this process has found ready or has prepared: checked once per process, not before every cell, and not
#: read again even when they could not be made ready (a read-only cache keeps nothing: one extra read per sample)
_SETTLED: set[tuple] = set()


def prepare_inputs(items: Iterable[tuple[str, int, str]], *, progress: bool = True) -> int:
    """Read once every sample of the (dataset, scale, LR input) ``items`` that is not ready
    (:func:`srbench.data.datasets.sample_ready`): its missing LR images are generated and cached, its decoded copies
    written (best effort, as every read does). Returns how many samples were read."""
    todo = []
    for dataset, scale, lr_input in dict.fromkeys(items):
        folder = resolve_dataset(dataset)
        for item in ((folder, f, scale, lr_input) for f in hr_paths(folder)):
            if item not in _SETTLED:
                (_SETTLED.add if sample_ready(*item) else todo.append)(item)
    for item in tqdm(todo, desc="preparing inputs (once)", unit="img", disable=not progress or not todo):
        datasets.DECODED.get(*item)  # the process's decoded images: the cells read these
        _SETTLED.add(item)
    return len(todo)
