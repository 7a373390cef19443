"""Checks on the outputs a command names (``--summary``, ``--out``, ``-o``), made before any work.

A benchmark that runs for an hour and then cannot write its summary, or a report that fails on its output folder
after reading the whole store, is a failure found too late: each command checks its outputs first and stops with
one line naming the option, the path and what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from srbench.core.errors import SrbenchError


def check_writable(path: str | os.PathLike, option: str, *, folder: bool = False) -> Path:
    """``path`` if the command can write it (a file, or with ``folder`` a folder, created with its parents if
    missing), else a one-line :class:`SrbenchError`. Nothing is created here."""
    target = Path(path)
    kind = "folder" if folder else "file"
    if target.exists():
        if target.is_dir() != folder:
            raise SrbenchError(f"{option} {path}: exists and is {'not ' if folder else ''}a folder; name a {kind}")
        where = target if folder else target.parent
        if not (os.access(target, os.W_OK) and os.access(where, os.W_OK | os.X_OK)):
            raise SrbenchError(f"{option} {path}: not writable; make it writable or choose another {kind}")
        return target
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise SrbenchError(f"{option} {path}: {ancestor} is a file, so the {kind} cannot be created under it")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise SrbenchError(f"{option} {path}: the folder {ancestor} is not writable; choose another {kind}")
    return target
