"""Machine-independent text for committed reports: no absolute path of the machine that rendered them.

Every text file the report writes (README, tables as Markdown / LaTeX / CSV, the benchmark summary) passes through
:func:`portable_text`, which names paths relative to the project: the checkout's root is dropped (``<repo>/mlruns/x``
-> ``mlruns/x``), the data store (``$SRBENCH_STORE``) becomes ``data/store`` when it is the default one and
``$SRBENCH_STORE`` otherwise, and the home folder becomes ``~``. :func:`portable_uri` names the MLflow store the same
way (``sqlite:///mlruns/mlflow.db``, the project's default, or a file outside the project by its name only), and
drops any user:password of a server URI.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from srbench.core.store import REPO_ROOT, store_root

_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]+@", re.IGNORECASE)


def _prefixes() -> list[tuple[str, str]]:
    """(absolute prefix, replacement), longest first, so a store inside the checkout is named as the store."""
    repo = REPO_ROOT.resolve()
    store = store_root()
    pairs = [(str(store), "data/store" if store == repo / "data" / "store" else "$SRBENCH_STORE"),
             (str(repo), ""), (str(Path.home().resolve()), "~")]
    # the unresolved spellings too (a symlinked checkout)
    pairs += [(str(REPO_ROOT), ""), (str(Path(os.environ.get("SRBENCH_STORE", store))), pairs[0][1])]
    seen, out = set(), []
    for prefix, repl in sorted(pairs, key=lambda p: len(p[0]), reverse=True):
        if prefix not in seen and prefix not in ("", "/"):
            seen.add(prefix)
            out.append((prefix, repl))
    return out


def portable_text(text: str) -> str:
    """``text`` with every absolute project, store or home path replaced (see the module docstring)."""
    for prefix, repl in _prefixes():
        if repl:
            text = text.replace(prefix, repl)
        else:  # the checkout itself: "<repo>/x" -> "x", a bare "<repo>" -> "."
            text = re.sub(re.escape(prefix) + r"(/|(?![\w.-]))", lambda m: "" if m.group(1) == "/" else ".", text)
    return text


def portable_uri(uri: str) -> str:
    """An MLflow tracking URI as a committed report may print it."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        try:
            return "sqlite:///" + path.resolve().relative_to(REPO_ROOT.resolve()).as_posix()
        except ValueError:
            return f"a SQLite file outside the project (`{path.name}`)"
    if uri.startswith("file:"):
        return "file:" + portable_text(uri[len("file:"):])
    return _USERINFO.sub(r"\1", uri)
