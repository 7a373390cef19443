"""The documentation is tested against the code: README.md and every docs/*.md page (whoever wrote it).

- every ``srbench <command>`` they show exists, and every ``--flag`` shown with it is in that command's ``--help``;
  a flag shown on its own is in some command's ``--help`` (or belongs to a script in ``scripts/`` or another tool
  named on the same line);
- every repository path they name (in code or as a relative link) exists;
- every environment variable the code reads is documented in docs/environment.md.

Only code (inline spans and fenced blocks) and links are checked: prose is free to say "the srbench report".
Run: ``.venv/bin/python -m pytest tests/test_docs.py -q``.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from pathlib import Path

import pytest

from srbench.core.store import REPO_ROOT

DOCS = sorted([REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md")])
#: pages, commands and make targets that parallel branches add, linked before they land: the check of each starts
#: as soon as it exists. Empty when nothing is in flight.
PENDING_PAGES: set[str] = set()
PENDING_COMMANDS: set[str] = set()
PENDING_TARGETS: set[str] = set()
#: top-level names a repository path starts with
REPO_TOP = ("bench/", "core/", "models/", "data/", "experiments/", "reports/", "scripts/", "tests/", "examples/",
            "docs/", ".ci/", "Makefile", "LICENSE", "pyproject.toml", "constraints.txt", "README.md")
#: git-ignored paths the docs name on purpose (made by running srbench, never committed)
GENERATED = ("data/store", "reports/local", "mlruns", ".venv")
#: programs whose flags are not srbench's: a line naming one is checked for srbench's flags only after `srbench`
OTHER_TOOLS = re.compile(r"(\b(torchrun|mlflow server|mlflow ui|pip|sbatch|srun|git|python -m pytest|pytest|ruff)\b|#SBATCH)")
#: other tools named in prose: the flags in code spans on such a line are theirs
PROSE_TOOLS = re.compile(r"\b(Slurm|sbatch|srun|MLflow(?: \d+)?.s|mlflow server|torchrun|ruff|pytest)\b")
#: a script of the repository on a line: its flags must be in its own source
SCRIPT = re.compile(r"(?:^|[\s/])((?:scripts|examples)/[\w./-]+\.(?:py|sh))")
SRBENCH = re.compile(r"(?:^|[\s/`(])srbench\s+([a-z][\w-]*)")
MAKE = re.compile(r"(?:^|[\s`(])make\s+((?:[a-z][\w-]*\s*)+)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][\w-]*)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _code_units(text: str) -> list[tuple[str, bool]]:
    """The docs' code: each fenced block's logical lines (backslash continuations joined) and each inline span, with
    whether its prose line names another tool ("Slurm's `--gres`": not srbench's flag)."""
    units = []
    for block in FENCE.findall(text):   # comments dropped: "# srbench writes ..." is prose
        lines = block.replace("\\\n", " ").splitlines()
        units += [(re.sub(r"(^|\s)#(?!SBATCH).*", "", line), False) for line in lines]
    for line in FENCE.sub("", text).splitlines():
        other = PROSE_TOOLS.search(SPAN.sub("", line)) is not None
        units += [(span, other) for span in SPAN.findall(line)]
    return [(u, other) for u, other in units if u.strip()]


@lru_cache(maxsize=1)
def _helps() -> dict[str, str]:
    """Each command's ``--help`` text, from the CLI's own parser."""
    from srbench.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return {name: p.format_help() for name, p in sub.choices.items()}


def _in_help(flag: str, text: str) -> bool:
    return flag == "--help" or re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def _scripts_source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "scripts").glob("*.py"))


def _commands_and_flags(unit: str, other: bool = False) -> list[tuple[str | None, str]]:
    """(command, flag) pairs in one code unit: a flag after ``srbench <command>`` belongs to it (up to the next
    command, pipe or ``;``); a flag after a repository script (``scripts/x.py``) is ``("script:<path>", flag)``; a flag
    on a line naming another tool (``torchrun``, ``mlflow server``, ``#SBATCH``, ...) is ``("other", flag)``; any
    other flag has command None."""
    pairs = []
    for part in re.split(r"[|;&]|\bthen\b", unit):
        found = SRBENCH.search(part)
        if found and re.search(r"\b(from|import)\s+$", part[:found.start(1)].rsplit("srbench", 1)[0]):
            found = None   # Python: `from srbench import x`, `import srbench as sb`
        script = SCRIPT.search(part)
        if found:
            pairs.append((found.group(1), ""))
            pairs += [(found.group(1), f) for f in FLAG.findall(part[found.end():])]
        elif script:
            pairs += [(f"script:{script.group(1)}", f) for f in FLAG.findall(part[script.end():])]
        else:
            owner = "other" if other or OTHER_TOOLS.search(part) else None
            pairs += [(owner, f) for f in FLAG.findall(part)]
    return pairs


def _mentions() -> list[tuple[str, str | None, str]]:
    out = []
    for doc in DOCS:
        for unit, other in _code_units(doc.read_text(encoding="utf-8")):
            out += [(doc.relative_to(REPO_ROOT).as_posix(), c, f) for c, f in _commands_and_flags(unit, other)]
    return out


def test_docs_commands_and_flags_exist():
    helps = _helps()
    every = "\n".join(helps.values())
    scripts = _scripts_source()
    mentions = _mentions()
    assert any(c == "benchmark" for _, c, _ in mentions), "the scanner found no `srbench benchmark` in the docs"
    foreign = {(doc, f) for doc, c, f in mentions if c == "other"}   # e.g. Slurm's flags on an #SBATCH line
    wrong = []
    for doc, command, flag in mentions:
        if command == "other":
            continue
        if command is not None and command.startswith("script:"):
            path = REPO_ROOT / command.split(":", 1)[1]
            if not path.is_file():
                wrong.append(f"{doc}: {command.split(':', 1)[1]} does not exist")
            elif not _in_help(flag, path.read_text(encoding="utf-8")):
                wrong.append(f"{doc}: `{flag}` is not an option of {command.split(':', 1)[1]}")
        elif command is not None and command not in helps:
            if command not in PENDING_COMMANDS:
                wrong.append(f"{doc}: `srbench {command}` is not a command ({', '.join(sorted(helps))})")
        elif command is not None and flag and not _in_help(flag, helps[command]):
            wrong.append(f"{doc}: `srbench {command} {flag}`: not in `srbench {command} --help`")
        elif command is None and not (_in_help(flag, every) or f'"{flag}"' in scripts or (doc, flag) in foreign):
            wrong.append(f"{doc}: `{flag}` is in no command's --help (nor on a line of another tool in that page)")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_docs_make_targets_exist():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    wrong = []
    for doc in DOCS:
        for unit, _ in _code_units(doc.read_text(encoding="utf-8")):
            for found in MAKE.finditer(unit):
                for word in found.group(1).split():
                    if word not in targets and word not in PENDING_TARGETS:
                        wrong.append(f"{doc.name}: `make {word}`: no such target")
    assert not wrong, "\n".join(sorted(set(wrong)))


def _expand(path: str) -> list[str]:
    """``a/{b,c}.yaml`` -> both names (the docs' brace shorthand)."""
    m = re.search(r"\{([^{}]*)\}", path)
    if not m:
        return [path]
    return list(itertools.chain.from_iterable(_expand(path[:m.start()] + alt + path[m.end():])
                                              for alt in m.group(1).split(",")))


def _repo_paths(doc: Path) -> list[str]:
    """Repository paths a page names: code tokens that start with a top-level folder or file, and relative links."""
    text = doc.read_text(encoding="utf-8")
    found = []
    for unit, _ in _code_units(text):
        for token in unit.split():
            token = token.strip("`'\"()[],;.:")
            token = token.split(":", 1)[0]   # examples/tiny_sr.py:build
            if token.startswith(REPO_TOP) and not any(c in token for c in "<$") and "..." not in token:
                found.append(token)
    for link in LINK.findall(text):
        if re.match(r"^[a-z]+:", link) or link.startswith("#"):
            continue
        target = (doc.parent / link.split("#", 1)[0]).resolve()
        try:
            found.append(target.relative_to(REPO_ROOT).as_posix())
        except ValueError:
            found.append(link)   # a link out of the repository: reported as missing
    return found


def test_docs_paths_exist():
    wrong, checked = [], 0
    for doc in DOCS:
        for path in _repo_paths(doc):
            if path.startswith(GENERATED) or (path in PENDING_PAGES and not (REPO_ROOT / path).exists()):
                continue
            for name in _expand(path):
                checked += 1
                if not (list(REPO_ROOT.glob(name)) if "*" in name else (REPO_ROOT / name).exists()):
                    wrong.append(f"{doc.relative_to(REPO_ROOT)}: {name} does not exist")
    assert checked > 20, "the scanner found almost no paths in the docs"
    assert not wrong, "\n".join(sorted(set(wrong)))


#: reads of the environment in the code: os.environ.get("X"), os.environ["X"], os.getenv("X"), environ.setdefault
ENV_READ = re.compile(r"""(?:environ(?:\.get|\.setdefault|\.pop)?\s*\(\s*|environ\[\s*|getenv\(\s*)"""
                      r"""["']([A-Z][A-Z0-9_]*)["']""")


def _env_read_by_code() -> set[str]:
    names = set()
    for folder in ("bench", "core", "models", "data", "scripts"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            if "store" in path.relative_to(REPO_ROOT).parts[1:2]:
                continue
            names |= set(ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


def test_environment_variables_documented():
    names = _env_read_by_code()
    # the scanner itself: it finds the variables the store and the benchmark read
    assert {"SRBENCH_STORE", "SRBENCH_CACHE", "SRBENCH_MIRROR", "SRBENCH_NO_PROGRESS", "MLFLOW_TRACKING_URI"} <= names
    page = (REPO_ROOT / "docs" / "environment.md").read_text(encoding="utf-8")
    missing = sorted(n for n in names if f"`{n}`" not in page)
    assert not missing, f"read by the code but not documented in docs/environment.md: {', '.join(missing)}"


@pytest.mark.parametrize("unit, expected", [
    ("srbench benchmark experiments/quick.yaml --datasets Set5 --scales 4",
     [("benchmark", ""), ("benchmark", "--datasets"), ("benchmark", "--scales")]),
    ("torchrun --nproc_per_node 2 -m srbench.cli train RECIPE --set num_gpu=2", [("other", "--nproc_per_node"),
                                                                                  ("other", "--set")]),
    ("python scripts/bench_runtime.py --scales 4", [("script:scripts/bench_runtime.py", "--scales")]),
    ("`--resume`", [(None, "--resume")]),
    ("srbench data; srbench report --out x", [("data", ""), ("report", ""), ("report", "--out")]),
    ("from srbench import evaluate", []),
    ("import srbench as sb", []),
])
def test_scanner_attributes_flags(unit, expected):
    """The scanner's own cases, hand-written: a flag belongs to the command before it; other tools' lines are not
    srbench's."""
    assert _commands_and_flags(unit.strip("`")) == expected
