"""Which inference runtime a cell runs on: ``auto``'s timed selection, its cache, and a cell's runtime use.

A layer of its own between measurement (``srbench.eval``) and tracking (``srbench.track``): it calls the runtimes and
their fidelity gate (:mod:`srbench.eval.runtimes`) but cannot move a number (every runtime that runs passed the gate,
and the runtime's name and versions are part of the cell key), so it stays outside the measurement package whose
import closure the cell key hashes: editing a selection heuristic invalidates no cell.

cache      the choice key and the choice files
selection  ``auto``: gate every candidate, time those that pass, pick the fastest by a clear margin
apart      the same selection in a child process (the benchmark's, on CPU: its leftovers end with the child)
use        a cell's :class:`RuntimeUse`: choose (declared, stored, cached or probed) and prepare; the probe image
cells      :class:`CellRuntimes`: one decision per cell group for one benchmark invocation
"""

from srbench.runtime_choice.cache import (CHOICE_FIELDS, PER_PROCESS_PREP, WORKLOAD_CALLS, choice_key, choice_path,
                                          device_identity, read_choice, valid_choice, write_choice)
from srbench.runtime_choice.apart import select_runtime_apart
from srbench.runtime_choice.cells import CellRuntimes, runtime_cache_dir
from srbench.runtime_choice.selection import Selection, default_candidates, select_runtime
from srbench.runtime_choice.use import (CHOICE_KEY_TAG, MAX_TAG_CHARS, SELECTION_TAG, Probe, RuntimeUse,
                                        choose_runtime, declined_error, graph_sha256, prepare_use, probe_sample)

__all__ = ["CHOICE_FIELDS", "CHOICE_KEY_TAG", "MAX_TAG_CHARS", "PER_PROCESS_PREP", "SELECTION_TAG", "WORKLOAD_CALLS",
           "CellRuntimes", "Probe", "RuntimeUse", "Selection", "choice_key", "choice_path", "choose_runtime",
           "declined_error", "default_candidates", "device_identity", "graph_sha256", "prepare_use", "probe_sample",
           "read_choice", "runtime_cache_dir", "select_runtime", "select_runtime_apart", "valid_choice", "write_choice"]
