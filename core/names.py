"""Unknown names: one "did you mean" rule for every registry, catalogue, key and preset."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from srbench.core.errors import SrbenchError


def closest(name: str, known: Iterable[str]) -> str | None:
    """The closest known name (difflib, cutoff 0.6), or None."""
    match = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return match[0] if match else None


def suggest(name: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest known name, or ''."""
    match = closest(name, known)
    return f" (did you mean {match!r}?)" if match else ""


def unknown_name_error(kind: str, name: str, known: Iterable[str]) -> SrbenchError:
    """A one-line error for an unknown name: the closest known one and the full list."""
    known = sorted(known)
    return SrbenchError(f"unknown {kind} {name!r}{suggest(name, known)}; known: {', '.join(known)}")
