"""Where each installed package's source lives in the checkout (the same mapping as pyproject's ``package-dir``).

Used to follow imports through the syntax tree without importing anything: the cell key hashes the import closure
of the measurement package (``srbench.track.cells``) and the layer test checks every import against the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

from srbench.core.store import IN_CHECKOUT, REPO_ROOT

#: installed package -> folder in the checkout (longest prefix wins)
PACKAGE_DIRS = {"srbench.core": "core", "srbench.models": "models", "srbench.data": "data",
                "srbench.experiments": "experiments", "srbench": "bench"}


def _folder(package: str, root: Path) -> Path:
    """The folder of ``package`` under ``root``: the checkout's mapping, or, installed from a wheel (``root`` is then
    the installed ``srbench`` folder), the package's own path below it."""
    if root == REPO_ROOT and not IN_CHECKOUT:
        return root.parent / Path(*package.split("."))
    return root / PACKAGE_DIRS[package]


def module_file(name: str, root: Path = REPO_ROOT) -> Path | None:
    """The source file of project module ``name`` (a package's ``__init__.py``), or None if it is not one."""
    for package in sorted(PACKAGE_DIRS, key=len, reverse=True):
        if name == package or name.startswith(package + "."):
            rest = name[len(package):].lstrip(".")
            base = _folder(package, root) / Path(*rest.split(".")) if rest else _folder(package, root)
            if base.with_suffix(".py").is_file():
                return base.with_suffix(".py")
            if (base / "__init__.py").is_file():
                return base / "__init__.py"
            return None
    return None


def module_name(path: Path, root: Path = REPO_ROOT) -> str | None:
    """The importable name of a project source file, or None for files outside the packages (tests, scripts)."""
    if root == REPO_ROOT and not IN_CHECKOUT:  # installed: the path below site-packages is the name
        parts = list(path.resolve().relative_to(root.parent.resolve()).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    rel = path.resolve().relative_to(root.resolve())
    for package, folder in sorted(PACKAGE_DIRS.items(), key=lambda kv: len(kv[1]), reverse=True):
        if rel.parts[:1] == (folder,):
            parts = list(rel.with_suffix("").parts[1:])
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            return ".".join([package, *parts])
    return None


def imported_modules(path: Path, root: Path = REPO_ROOT, *, parents: bool = True) -> set[str]:
    """Every project module ``path`` imports, at the top level or inside functions (``from a import b`` counts as
    ``a.b`` when that is a module, else as ``a``), plus (``parents``) the parent packages that importing them runs."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" if module_file(f"{node.module}.{alias.name}", root)
                     else node.module for alias in node.names]
        for name in names:
            if module_file(name, root) is None:
                continue
            if not parents:
                found.add(name)
                continue
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1)
                         if module_file(".".join(parts[:i]), root) is not None)
    return found


def import_closure(package: str, root: Path = REPO_ROOT) -> list[str]:
    """Every project module reachable by imports from the modules of ``package`` (the package included), sorted."""
    folder = module_file(package, root).parent
    todo = [module_name(p, root) for p in sorted(folder.rglob("*.py"))]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(imported_modules(module_file(name, root), root) - seen)
    return sorted(seen)
