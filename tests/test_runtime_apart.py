"""auto's probe in a child process (srbench.runtime_choice.apart): the child makes the choice, this process does not.

References: the in-process selection reading the child's cache file as its own (same key, same record), a model
pickle cannot rebuild (probed here instead), and a child that dies (a one-line error).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srbench.core.errors import SrbenchError
from srbench.runtime_choice import apart
from srbench.runtime_choice.selection import select_runtime

SHA = "0" * 63 + "2"


class Small(nn.Module):
    """One conv and a pixel shuffle, x2: cheap to export; defined at module level, so a child can rebuild it."""

    arch = "small"
    scales = (2,)

    def __init__(self) -> None:
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(0)
            self.conv = nn.Conv2d(3, 12, 3, 1, 1)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x), scale) + 0.5


class DiesWhenRebuilt(Small):
    """Unpickling it ends the process at once, as an out-of-memory kill would."""

    def __reduce__(self):
        return os._exit, (3,)


def _args(tmp_path, **extra) -> dict:
    hr = (np.random.default_rng(1).random((40, 48, 3)) * 255).round().astype(np.uint8)
    return dict(scale=2, bn_mode="eval", device="cpu", weights_sha256=SHA, cache_dir=tmp_path,
                probe_lr_u8=hr[::2, ::2].copy(), probe_hr_u8=hr, candidates=("onnxruntime",), repeats=1, **extra)


def _not_here(*args, **kwargs):
    raise AssertionError("the probe ran in the parent process")


@pytest.mark.slow
def test_the_child_chooses_and_writes_the_choice_this_process_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(apart, "select_runtime", _not_here)  # the child imports its own, unpatched
    chosen = apart.select_runtime_apart(Small(), **_args(tmp_path))
    assert chosen.runner is None and not chosen.cached  # nothing prepared here: the cell prepares the chosen one
    assert chosen.runtime in ("eager", "onnxruntime") and set(chosen.timings_ms) == {"eager", "onnxruntime"}
    assert chosen.gates["onnxruntime"]["passed"]
    assert chosen.notes[-1].startswith(f"auto x2 (eval): {chosen.runtime} (timed probe: ")
    # the in-process selection finds the child's file under the key it computes itself: the same record
    here = select_runtime(Small(), **_args(tmp_path))
    assert here.cached and here.key == chosen.key and here.as_dict() == chosen.as_dict()


def test_a_model_pickle_cannot_rebuild_is_probed_here(tmp_path, monkeypatch):
    class Local(Small):  # a class defined in a function: pickle cannot name it
        pass

    calls = []
    monkeypatch.setattr(apart, "select_runtime", lambda model, **kw: calls.append(model) or "probed here")
    model = Local()
    assert apart.select_runtime_apart(model, **_args(tmp_path)) == "probed here" and calls == [model]


_USER_NET = """
import torch.nn.functional as F
from torch import nn

class Net(nn.Module):
    arch = "user_net"
    scales = (2,)

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, 1, 1)

    def forward(self, x, scale):
        return F.pixel_shuffle(self.conv(x), scale)
"""


def test_a_model_the_child_cannot_import_is_probed_here(tmp_path, monkeypatch):
    """A model file imported under a private module name (as srbench.models.external does): pickle names the class,
    the child cannot import it, and the probe runs in this process instead."""
    path = tmp_path / "user_net.py"
    path.write_text(_USER_NET)
    name = "srbench_test_private_user_net"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    calls = []
    monkeypatch.setattr(apart, "select_runtime", lambda model, **kw: calls.append(model) or "probed here")
    model = module.Net()
    assert apart.select_runtime_apart(model, **_args(tmp_path)) == "probed here" and calls == [model]


@pytest.mark.slow
def test_a_child_that_dies_is_a_one_line_error(tmp_path):
    with pytest.raises(SrbenchError, match=r"auto.s runtime probe of small x2 stopped: its process died "
                                           r"\(exit status 3\)") as exc:
        apart.select_runtime_apart(DiesWhenRebuilt(), **_args(tmp_path))
    assert "\n" not in str(exc.value) and not list(tmp_path.rglob("*.json"))


_SCRIPT = """
from pathlib import Path
import numpy as np
from srbench.models import create_model
from srbench.runtime_choice.apart import select_runtime_apart
with open({log!r}, "a") as fh:  # a script without a main guard: a child that re-ran it would write again
    fh.write("ran\\n")
hr = np.zeros((32, 32, 3), np.uint8)
chosen = select_runtime_apart(create_model("carn_m"), scale=2, bn_mode="eval", device="cpu", weights_sha256=None,
                              cache_dir=Path({cache!r}), probe_lr_u8=hr[::2, ::2].copy(), probe_hr_u8=hr,
                              candidates=("onnxruntime",), repeats=1)
print(chosen.runtime, sorted(chosen.declined))
"""


@pytest.mark.slow
def test_a_script_without_a_main_guard_is_not_run_again_by_the_probe(tmp_path):
    log = tmp_path / "log"
    script = tmp_path / "script.py"
    script.write_text(_SCRIPT.format(log=str(log), cache=str(tmp_path / "cache")))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["eager", "['onnxruntime']"]  # no weights digest: the graph runtime declines
    assert log.read_text() == "ran\n"


_COUNT_SCRIPT = """
import json, sys
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, {tests!r})
from test_runtime_apart import Small
from srbench.eval.cell import complexity
from srbench.eval.memory import measure_peak_memory_mb
from srbench.runtime_choice.apart import CountAt, select_runtime_apart
hr = (np.random.default_rng(1).random((40, 48, 3)) * 255).round().astype(np.uint8)
select_runtime_apart(Small(), count=CountAt((32, 32), (3, 16, 16)), scale=2, bn_mode="eval", device="cpu",
                     weights_sha256="0" * 63 + "2", cache_dir=Path({cache!r}), probe_lr_u8=hr[::2, ::2].copy(),
                     probe_hr_u8=hr, candidates=("onnxruntime",), repeats=1)
figures = complexity(Small(), 2, (32, 32), (3, 16, 16))
measure_peak_memory_mb(Small().eval(), 2, torch.device("cpu"), out_hw=(32, 32))
print(json.dumps({{"figures": figures, "dynamo": "torch._dynamo" in sys.modules}}))
"""


@pytest.mark.slow
def test_the_child_counts_the_figures_so_this_process_imports_no_compiler(tmp_path, monkeypatch):
    """The benchmark's probe child also counts the complexity figures (on torch's meta device, which imports
    torch._dynamo): a process that probes apart, then reads the figures and measures memory, never imports it, and
    reads the very figures this process counts itself."""
    from srbench.eval.cell import complexity

    env = {**os.environ, "SRBENCH_CACHE": str(tmp_path / "store_cache")}
    script = _COUNT_SCRIPT.format(tests=os.path.dirname(__file__), cache=str(tmp_path / "runtimes"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    assert answer["dynamo"] is False
    assert len(list((tmp_path / "store_cache" / "complexity").glob("*.json"))) == 1  # counted by the child
    monkeypatch.setenv("SRBENCH_CACHE", str(tmp_path / "counted_here"))  # counted anew in this process
    assert answer["figures"] == complexity(Small(), 2, (32, 32), (3, 16, 16))
