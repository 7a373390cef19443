"""Code identity (srbench.core.code_identity): one import parser for the cell key's closure, the export hash and an
external model's code hash, relative imports included.

References: hand-made package trees whose import graphs are worked out by hand below (no call to the code under test
computes an expected value).
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from srbench.core.code_identity import closure_version, import_closure, imported_modules, resolve_import


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


@pytest.mark.parametrize("module,level,package,expected", [
    ("a.b", 0, None, "a.b"),          # absolute: as written
    (None, 1, "p.q", "p.q"),          # from . import x
    ("c", 1, "p.q", "p.q.c"),         # from .c import d
    (None, 2, "p.q", "p"),            # from .. import e
    ("r.s", 2, "p.q", "p.r.s"),       # from ..r.s import t
    (None, 3, "p.q", None),           # climbs above the top-level package
    ("c", 1, None, None),             # relative, but no package to resolve against
])
def test_resolve_import_by_hand(module, level, package, expected):
    assert resolve_import(module, level, package) == expected


# A checkout (root) with the srbench package in bench/ and srbench.core, srbench.data in core/, data/ (the project's
# layout). Relative imports at depths 1, 2 and 3, one inside a function, one climbing above the top level. The root
# package runs only as the parent of what is imported: its lazy and type-checking imports never run.
CHECKOUT = {
    "bench/__init__.py": """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from srbench.core import other

        def __getattr__(name):
            from srbench.track import y
            return getattr(y, name)
        """,
    "bench/eval/__init__.py": "",
    "bench/eval/alpha.py": """
        from . import gamma
        from .deep import beta
        """,
    "bench/eval/gamma.py": """
        def load():
            from ..core import util
            from .... import nowhere
            return util, nowhere
        """,
    "bench/eval/deep/__init__.py": "from . import delta\n",
    "bench/eval/deep/beta.py": """
        from .. import gamma
        from ..deep.delta import VALUE
        from ...track import x
        """,
    "bench/eval/deep/delta.py": "VALUE = 1\n",
    "bench/track/__init__.py": "",
    "bench/track/x.py": "from ..data import loader\n",
    "bench/track/y.py": "from ..data import unused\n",
    "core/__init__.py": "",
    "core/util.py": "import os\n",
    "core/other.py": "",
    "data/__init__.py": "",
    "data/loader.py": "from srbench.core import util\n",
    "data/unused.py": "",
}


def test_imported_modules_resolves_relative_imports(tmp_path):
    _tree(tmp_path, CHECKOUT)
    beta = tmp_path / "bench/eval/deep/beta.py"
    assert imported_modules(beta, tmp_path, parents=False) == {
        "srbench.eval.gamma", "srbench.eval.deep.delta", "srbench.track.x"}
    assert imported_modules(tmp_path / "bench/eval/alpha.py", tmp_path, parents=False) == {
        "srbench.eval.gamma", "srbench.eval.deep.beta"}
    assert imported_modules(tmp_path / "bench/eval/gamma.py", tmp_path, parents=False) == {"srbench.core.util"}
    assert imported_modules(tmp_path / "bench/eval/deep/__init__.py", tmp_path, parents=False) == {
        "srbench.eval.deep.delta"}


def test_import_closure_follows_relative_imports_out_of_the_package(tmp_path):
    _tree(tmp_path, CHECKOUT)
    assert import_closure("srbench.eval", tmp_path) == sorted([
        "srbench", "srbench.eval", "srbench.eval.alpha", "srbench.eval.gamma", "srbench.eval.deep",
        "srbench.eval.deep.beta", "srbench.eval.deep.delta",
        "srbench.track", "srbench.track.x",          # reached from beta (depth 3)
        "srbench.data", "srbench.data.loader",       # reached from track.x (depth 2)
        "srbench.core", "srbench.core.util",         # reached from gamma's function (depth 2) and data.loader
    ])  # not data.unused (nothing imports it), nor track.y and core.other (only the root's lazy and type-checking
    # imports name them, and the root package runs only its import-time code)


def test_closure_version_moves_with_code_not_docstrings(tmp_path):
    _tree(tmp_path, CHECKOUT)
    before = closure_version("srbench.eval", tmp_path)
    util = tmp_path / "core/util.py"
    util.write_text('"""A docstring."""\nimport os  # a comment\n')
    closure_version.cache_clear()
    assert closure_version("srbench.eval", tmp_path) == before
    util.write_text("import os\nX = 1\n")  # core.util is reached only through relative imports
    closure_version.cache_clear()
    assert closure_version("srbench.eval", tmp_path) != before
    closure_version.cache_clear()


def test_closure_version_moves_with_the_c_source_of_a_compiled_module(tmp_path):
    """A compiled module's C source in a package of the closure is measurement code too (srbench.eval._kernels)."""
    _tree(tmp_path, CHECKOUT)
    before = closure_version("srbench.eval", tmp_path)
    kernel = tmp_path / "bench/eval/_kernels.c"
    kernel.write_text("double f(double x) { return x * 2.0; }\n")
    closure_version.cache_clear()
    with_kernel = closure_version("srbench.eval", tmp_path)
    kernel.write_text("double f(double x) { return x + x; }\n")
    closure_version.cache_clear()
    assert len({before, with_kernel, closure_version("srbench.eval", tmp_path)}) == 3
    closure_version.cache_clear()


def test_external_code_hash_follows_relative_imports(tmp_path, monkeypatch):
    """An external model in a package: the hashed files are those its builder's module reaches, at any depth."""
    from srbench.models.external import code_hash

    _tree(tmp_path, {
        "idpkg/__init__.py": "from .net import build\n",
        "idpkg/net.py": "from .blocks import Block\nfrom . import util\n\ndef build():\n    return Block()\n",
        "idpkg/util.py": "",
        "idpkg/blocks/__init__.py": "from .conv import Block\n",
        "idpkg/blocks/conv.py": "from .. import helpers\n\nclass Block:\n    pass\n",
        "idpkg/helpers.py": "",
        "idpkg/unused.py": "",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("idpkg.net")
        _, files = code_hash(module, file_spec=False)
    finally:
        for name in [n for n in sys.modules if n == "idpkg" or n.startswith("idpkg.")]:
            del sys.modules[name]
    assert files == ("__init__.py", "blocks/__init__.py", "blocks/conv.py", "helpers.py", "net.py", "util.py")
