"""Code identity: what a piece of code computes, as a hash blind to docstrings, comments and formatting.

Three keys depend on code, and all of them are computed here, with one import parser (:func:`import_targets`):

* the cell key's code version (``srbench.track.cells.code_version``): :func:`closure_version` of the measurement
  package, a hash over every project module in its import closure (:func:`import_closure`);
* the ONNX export's code hash (``srbench.eval.runtimes.export.export_code_hash``): :func:`modules_digest` of the
  capture/export modules and of the modules that define the network's classes;
* an external model's code hash (``srbench.models.external.code_hash``): the files reached from its builder's
  module through :func:`imported_names`, inside its own folder tree.

The parser resolves relative imports against the importing module's package: in package ``a.b``, ``from . import x``
imports ``a.b`` and (if it is a module) ``a.b.x``; ``from .c import d`` imports ``a.b.c`` (and ``a.b.c.d``);
``from .. import e`` imports ``a`` (and ``a.e``). A relative import that climbs above the top-level package is
ignored (Python refuses it too).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import os
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from srbench.core.layout import module_file, module_name
from srbench.core.store import REPO_ROOT


def code_fingerprint(source: str) -> str:
    """The source's syntax tree without docstrings, as text: what the code does, not how it is documented."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


@functools.lru_cache(maxsize=64)
def source_fingerprint(*sources: str) -> str:
    """Hex sha256 of several sources' :func:`code_fingerprint` (a method's indented source may be given as is).
    Kept per sources for the process: a cache key asks for the same module's fingerprint once per entry (nine
    parses of the LR generators' module in one ``srbench explain``, 80 ms)."""
    h = hashlib.sha256()
    for source in sources:
        dump = code_fingerprint(textwrap.dedent(source)).encode()
        h.update(f"{len(dump)}\0".encode())
        h.update(dump)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------------------------
# The import parser


def resolve_import(module: str | None, level: int, package: str | None) -> str | None:
    """The absolute name ``from <level dots><module> import ...`` refers to inside ``package`` (None when it
    cannot be resolved: a relative import without a package, or one that climbs above the top level)."""
    if level == 0:
        return module
    if not package:
        return None
    parts = package.split(".")
    if level - 1 >= len(parts):
        return None
    parts = parts[:len(parts) - (level - 1)]
    return ".".join(parts + ([module] if module else []))


def _is_type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): a block that never runs."""
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _nodes(tree: ast.AST, lazy: bool):
    """Every node of ``tree``; without ``lazy``, only those that run on import: not inside function bodies, not
    under ``if TYPE_CHECKING:``."""
    if lazy:
        yield from ast.walk(tree)
        return
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) or _is_type_checking(node):
            continue
        todo.extend(ast.iter_child_nodes(node))


def import_targets(tree: ast.AST, package: str | None, *, lazy: bool = True) -> list[tuple[str, tuple[str, ...]]]:
    """Every import in ``tree`` (with ``lazy``, also those inside functions) as (absolute module, imported names):
    ``import a.b`` gives ``("a.b", ())``, ``from a import b, c`` gives ``("a", ("b", "c"))`` (``*`` left out);
    relative imports are resolved against ``package`` (:func:`resolve_import`)."""
    targets: list[tuple[str, tuple[str, ...]]] = []
    for node in _nodes(tree, lazy):
        if isinstance(node, ast.Import):
            targets.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_import(node.module, node.level, package)
            if base:
                targets.append((base, tuple(alias.name for alias in node.names if alias.name != "*")))
    return targets


def _parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


def imported_names(path: Path, package: str | None) -> set[str]:
    """Every name the file may import as a module: each imported module and, for ``from a import b``, also ``a.b``
    (which is a module or an attribute: the caller checks)."""
    names: set[str] = set()
    for base, attrs in import_targets(_parse(path), package):
        names.add(base)
        names.update(f"{base}.{attr}" for attr in attrs)
    return names


# ----------------------------------------------------------------------------------------------------------------
# Project modules: the import graph and the measurement closure


def _package_of(path: Path, root: Path) -> str | None:
    """The package a project file's relative imports resolve against (None for a file outside the packages)."""
    try:
        name = module_name(path, root)
    except ValueError:  # not below the checkout (a hand-made file)
        return None
    if name is None:
        return None
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _parents(name: str, root: Path) -> list[str]:
    """The project packages above module ``name`` (outermost first): importing it runs their ``__init__``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts)) if module_file(".".join(parts[:i]), root) is not None]


def imported_modules(path: Path, root: Path = REPO_ROOT, *, parents: bool = True, lazy: bool = True) -> set[str]:
    """Every project module ``path`` imports, at the top level or (``lazy``) inside functions (``from a import b``
    counts as ``a.b`` when that is a module, else as ``a``), plus (``parents``) the parent packages that importing
    them runs."""
    found: set[str] = set()
    for base, attrs in import_targets(_parse(path), _package_of(path, root), lazy=lazy):
        names = [base] if not attrs else [f"{base}.{a}" if module_file(f"{base}.{a}", root) else base for a in attrs]
        for name in names:
            if module_file(name, root) is None:
                continue
            found.add(name)
            if parents:
                found.update(_parents(name, root))
    return found


def import_closure(package: str, root: Path = REPO_ROOT) -> list[str]:
    """Every project module that the modules of ``package`` (the package included) can run, sorted.

    A module imported by name can run all of its code, so its imports inside functions are followed too; a package
    that runs only because it lies above an imported module (``srbench`` above ``srbench.eval``) runs its import-time
    code alone, so of its imports only those are followed (the root package's lazy re-export of the public API is
    not measurement code)."""
    folder = module_file(package, root).parent
    todo = [(module_name(p, root), True) for p in sorted(folder.rglob("*.py"))]
    whole: set[str] = set()
    parents_only: set[str] = set()
    while todo:
        name, imported = todo.pop()
        if name in whole or (not imported and name in parents_only):
            continue
        (whole if imported else parents_only).add(name)
        for target in imported_modules(module_file(name, root), root, parents=False, lazy=imported):
            todo.append((target, True))
            todo.extend((parent, False) for parent in _parents(target, root))
    return sorted(whole | parents_only)


@functools.lru_cache(maxsize=8)
def closure_version(package: str, root: Path = REPO_ROOT) -> str:
    """A short hash (12 hex) of ``package``'s import closure: each module's name and :func:`code_fingerprint`."""
    digest = hashlib.sha256()
    closure = import_closure(package, root)
    for name in closure:
        digest.update(name.encode())
        digest.update(code_fingerprint(module_file(name, root).read_text()).encode())
    for path in compiled_sources(closure, root):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def compiled_sources(modules: list[str], root: Path = REPO_ROOT) -> list[Path]:
    """The C sources (``*.c``) in the folders of the packages among ``modules``: compiled modules of those packages
    (``srbench.eval._kernels``), whose code is part of the closure but is not Python to follow. They ship in the
    wheel beside the package's modules (pyproject's package-data), so an installed copy hashes them too."""
    folders = {module_file(name, root).parent for name in modules
               if module_file(name, root) is not None and module_file(name, root).name == "__init__.py"}
    return sorted(path for folder in folders for path in folder.glob("*.c"))


# ----------------------------------------------------------------------------------------------------------------
# Imported modules (a network's classes): their fingerprints


def module_fingerprint(module: ModuleType) -> str:
    """An imported module's :func:`code_fingerprint`, computed once per state of its file (parsing costs ~0.1 s;
    ``auto`` asks once per network, BN mode and scale of a benchmark, warm reruns included)."""
    path = getattr(module, "__file__", None)
    try:
        stamp = os.stat(path).st_mtime_ns if path else None
    except OSError:
        stamp = None
    return _fingerprint_of(module.__name__, path, stamp)


@functools.lru_cache(maxsize=256)
def _fingerprint_of(name: str, path: str | None, stamp: int | None) -> str:
    module = sys.modules[name]
    try:
        return code_fingerprint(inspect.getsource(module))
    except (OSError, TypeError):  # no source available (compiled/frozen): fall back to the module's identity
        return path or name


def modules_digest(modules: Iterable[ModuleType], *extra: str) -> str:
    """Hex sha256 over the modules (sorted by name, duplicates once): each name and :func:`module_fingerprint`,
    then the ``extra`` strings (library versions and settings the code's output also depends on)."""
    by_name = {module.__name__: module for module in modules}
    digest = hashlib.sha256()
    for name, module in sorted(by_name.items()):
        digest.update(name.encode())
        digest.update(module_fingerprint(module).encode())
    for text in extra:
        digest.update(text.encode())
    return digest.hexdigest()
