"""Where each installed package's source lives in the checkout (the same mapping as pyproject's ``package-dir``).

Used to follow imports through the syntax tree without importing anything (:mod:`srbench.core.code_identity`):
the cell key hashes the import closure of the measurement package and the layer test checks every import against
the layers.
"""

from __future__ import annotations

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
