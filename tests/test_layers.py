"""The house rules as a test: layers import only downward, no import cycles, the install mapping matches the folders.

Every import in the syntax tree counts, also those inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from srbench.core.code_identity import imported_modules
from srbench.core.layout import PACKAGE_DIRS, module_name
from srbench.core.store import REPO_ROOT

# Lower rank = lower layer. A module may import its own layer or lower ones, except that data and models (rank 1)
# must not import each other. The public API (srbench.api) sits above measurement and tracking, which it calls, and
# below the trainer, which validates through it. The package root ``srbench`` re-exports the API (lazily), so it is
# the top layer; nothing may import it by its bare name.
# The runtime choice (srbench.runtime_choice: which runtime a cell runs on, which cannot move a number) sits between
# measurement and tracking: it calls the measurement's runtimes and gate, and stays outside the measurement package
# whose import closure the cell key hashes.
RANKS = [("srbench.core", 0), ("srbench.experiments", 0), ("srbench.data", 1), ("srbench.models", 1), ("srbench.eval", 2),
         ("srbench.runtime_choice", 2.5), ("srbench.track", 3),
         ("srbench.api", 4), ("srbench.train", 5), ("srbench.report", 6), ("srbench.commands", 7), ("srbench.cli", 8),
         ("srbench", 0)]
ROOT_RANK = 9


def _layer(name: str) -> tuple[str, int]:
    if name == "srbench":
        return name, ROOT_RANK
    for prefix, rank in RANKS:
        if name == prefix or name.startswith(prefix + "."):
            return prefix, rank
    raise AssertionError(f"{name} is in no layer")


def _sources() -> dict[str, Path]:
    files = {}
    for folder in PACKAGE_DIRS.values():
        for path in (REPO_ROOT / folder).rglob("*.py"):
            if "store" in path.relative_to(REPO_ROOT).parts[1:2]:
                continue
            files[module_name(path)] = path
    return files


def _graph() -> dict[str, set[str]]:
    return {name: imported_modules(path, parents=False) - {name} for name, path in _sources().items()}


def test_every_import_points_down_the_layers():
    bad = []
    for name, targets in _graph().items():
        layer, rank = _layer(name)
        for target in targets:
            t_layer, t_rank = _layer(target)
            if t_rank > rank or (t_rank == rank == 1 and t_layer != layer):
                bad.append(f"{name} -> {target}")
    assert not bad, "upward or sideways imports: " + "; ".join(sorted(bad))


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [node, nxt]) if nxt in path else f"{node}->{nxt}")
            elif nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    src = tmp_path / "bench" / "x.py"
    src.parent.mkdir()
    src.write_text("def f():\n    from srbench.track import tracking\n    import srbench.eval.metrics\n")
    assert imported_modules(src, parents=False) >= {"srbench.track.tracking", "srbench.eval.metrics"}


def test_install_mapping_matches_the_folders():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == PACKAGE_DIRS
    packages = {module_name(p.parent / "__init__.py") for name in PACKAGE_DIRS.values()
                for p in (REPO_ROOT / name).rglob("__init__.py") if "store" not in p.parts}
    assert set(config["packages"]) == packages


@pytest.mark.parametrize("folder", sorted(PACKAGE_DIRS.values()))
def test_every_package_says_what_it_is(folder):
    for init in (REPO_ROOT / folder).rglob("__init__.py"):
        assert init.read_text().lstrip().startswith('"""'), f"{init} has no docstring"


def test_the_measurement_closure_holds_the_runtimes_but_not_their_choice():
    """The cell key hashes srbench.eval's import closure: the runtimes' capture, backends and gate can move a number
    and are in it; which runtime a cell uses (srbench.runtime_choice) cannot and is not, so editing it keeps keys."""
    from srbench.core.code_identity import import_closure

    closure = import_closure("srbench.eval")
    assert {"srbench.eval.runtimes.capture", "srbench.eval.runtimes.backends", "srbench.eval.runtimes.gate"} <= set(closure)
    assert not [name for name in closure if name.startswith(("srbench.runtime_choice", "srbench.track"))]
