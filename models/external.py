"""External models: a network defined outside srbench, named by a builder spec or an installed entry point.

A model name that is not registered by srbench itself may be

* ``path/to/file.py:builder``: the file is imported under a private module name (``srbench_external_<hash of its
  resolved path>``), so it never collides with a user package called ``models`` or ``model``. Its sibling modules
  (``from blocks import X`` next to it) are imported from its folder, and only while it is imported: they do not
  stay in ``sys.modules`` under their plain names, so two model files with a ``blocks.py`` each get their own (import
  them at module level: an import inside ``forward`` would not find them);
* ``package.module:builder``: an importable module (installed, or on ``sys.path``);
* an entry-point name: installed packages register builders in the group ``srbench.models`` (in pyproject:
  ``[project.entry-points."srbench.models"] mynet = "mypkg.models:build"``). srbench's own names win over an entry
  point of the same name.

The builder is a callable returning an ``nn.Module``. It is called with no arguments, plus ``scales=`` when it accepts
that keyword (srbench passes the scales it needs, as for the built-in builders) and ``group=`` when asked for one.

The scale rule: ``forward(x, scale)`` maps a 1x3xhxw RGB tensor in [0, 1] to the 1x3x(s·h)x(s·w) SR image. The
module's ``scales`` attribute (an int or a tuple of 2, 3, 4) says which scales it can run; without one, a module whose
forward takes a scale runs the scales the builder was asked for ((2, 3, 4) by default). A module whose forward takes
no scale (``forward(x)``) must declare its one scale, ``scales = (4,)`` or ``scales = 4``; srbench then calls
``forward(x)`` and refuses any other scale. Either way the module ends up with a ``scales`` tuple, which the
complexity counters use.

The code hash (:attr:`ExternalModel.code_hash`) identifies what the model computes: the syntax trees (docstrings and
comments excluded, :func:`srbench.core.code_identity.code_fingerprint`) of the builder's module and of every module it
imports, at any depth, that lives in the same folder tree (the file's folder for a file spec, the top-level package's
folder for a module in a package, the file alone for a top-level module). It is part of the benchmark's cell key and
logged as the tag ``srbench.model_code``.

Whether the model really produces SR images is checked by running it on a small test image
(:mod:`srbench.eval.model_check`): that needs the measurement layer, this module only imports and builds.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from torch import nn

from srbench.core.errors import SrbenchError
from srbench.core.code_identity import code_fingerprint, imported_names
from srbench.core.names import suggest

ENTRY_POINT_GROUP = "srbench.models"
SCALES = (2, 3, 4)
_PRIVATE_PREFIX = "srbench_external_"


@dataclass(frozen=True)
class ExternalModel:
    """A resolved external builder: the spec as given, where it comes from, and the hash of its code."""

    spec: str
    builder: Callable[..., nn.Module]
    source: str          # the file that defines the builder (named in every error message)
    code_hash: str       # 16 hex digits over the builder's module and its project-local imports
    files: tuple[str, ...]  # the hashed files, relative to their root


def is_spec(name: str) -> bool:
    """True for ``file.py:builder`` and ``package.module:builder`` (a colon; srbench's own names have none)."""
    return isinstance(name, str) and ":" in name


def _is_file_spec(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def one_line(exc: BaseException) -> str:
    """An exception as ``Type: last line of its message`` (at most 200 characters): what a one-line error quotes."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[-1][:200]}" if lines else type(exc).__name__


def _local_names(folder: Path) -> set[str]:
    """Top-level module names a file in ``folder`` can import from the folder itself (its .py files, packages)."""
    names = set()
    for entry in folder.iterdir():
        if entry.suffix == ".py" and entry.is_file():
            names.add(entry.stem)
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            names.add(entry.name)
    return names


@contextmanager
def _isolated(folder: Path) -> Iterator[None]:
    """Import a builder file's siblings from its own folder, and keep them out of everyone else's way.

    For the duration, ``folder`` is first on ``sys.path`` and modules already imported under the names of its
    siblings (another model's ``blocks.py``, say) are set aside; afterwards the siblings imported meanwhile leave
    ``sys.modules`` (the builder's module keeps its references to them) and what was set aside comes back. So two
    model files with a ``blocks.py`` each get their own, and neither replaces a module of the user's.
    """
    local = _local_names(folder)

    def is_local(name: str) -> bool:
        return name.split(".")[0] in local

    saved = {name: sys.modules.pop(name) for name in [n for n in sys.modules if is_local(n)]}
    entry = str(folder)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        try:
            sys.path.remove(entry)
        except ValueError:
            pass
        for name in [n for n in sys.modules if is_local(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


def private_module_name(path: Path) -> str:
    """The module name a builder file is imported under: unique per resolved path, never a user's package name."""
    return _PRIVATE_PREFIX + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def _import_file(path: Path, spec: str) -> ModuleType:
    """Import a builder file under its private name (once per process); call inside :func:`_isolated`."""
    name = private_module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path.resolve())
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise SrbenchError(f"model {spec!r}: importing {path} failed ({one_line(exc)})") from None
    return module


def _import_module(module_name: str, spec: str, where: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or any error the module raises while it is imported
        raise SrbenchError(f"model {spec!r}: importing {module_name} {where}failed ({one_line(exc)})") from None


def _attribute(module: ModuleType, attr: str, spec: str, source: str) -> Callable[..., nn.Module]:
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            known = sorted(n for n, v in vars(module).items() if not n.startswith("_") and callable(v)
                           and getattr(v, "__module__", None) == module.__name__)
            raise SrbenchError(f"model {spec!r}: {source} has no {attr!r}{suggest(attr, known)}; defined there: "
                               f"{', '.join(known[:12]) or 'no callables'}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SrbenchError(f"model {spec!r}: {attr} in {source} is not callable (got {type(obj).__name__})")
    return obj


def entry_points() -> dict[str, list[importlib.metadata.EntryPoint]]:
    """Installed ``srbench.models`` entry points by name (a name two distributions register has two)."""
    found: dict[str, list] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, []).append(ep)
    return found


def entry_point_names() -> list[str]:
    """Names of the installed external models (for 'did you mean' lists)."""
    return sorted(entry_points())


def _module_file(module: ModuleType) -> Path | None:
    origin = getattr(module, "__file__", None)
    return Path(origin).resolve() if origin else None


def _hash_root(module: ModuleType, file_spec: bool) -> tuple[Path, bool]:
    """(root, tree): the folder tree whose modules count as the model's own code, or the file alone (tree False)."""
    path = _module_file(module)
    if file_spec:
        return path.parent, True
    top = (module.__spec__.name if module.__spec__ else module.__name__).split(".")[0]
    top_module = sys.modules.get(top)
    if top_module is not None and getattr(top_module, "__path__", None) and _module_file(top_module):
        return _module_file(top_module).parent, True  # a package: its whole folder
    return path, False  # a top-level module (e.g. in site-packages): its own file only


def _origin(name: str) -> tuple[Path, str | None] | None:
    """(file, package) of an importable module, using what is already imported first; None when not found."""
    module = sys.modules.get(name)
    if module is not None and _module_file(module):
        return _module_file(module), module.__package__
    try:
        found = importlib.util.find_spec(name)
    except Exception:  # finding a submodule imports its parents, which may raise anything: not ours to hash then
        return None
    if found is None or not found.origin or not found.has_location:
        return None
    package = name if found.submodule_search_locations is not None else name.rpartition(".")[0]
    return Path(found.origin).resolve(), package or None


def code_hash(module: ModuleType, *, file_spec: bool) -> tuple[str, tuple[str, ...]]:
    """(16-hex hash, hashed files relative to the root) over the module and its project-local imports (for a file
    spec, call inside :func:`_isolated`, where its siblings resolve)."""
    root, tree = _hash_root(module, file_spec)
    start = _module_file(module)
    base = root if tree else start.parent
    files: dict[Path, None] = {}
    todo = [(start, module.__package__ if not file_spec else None)]
    while todo:
        path, package = todo.pop()
        if path in files:
            continue
        files[path] = None
        if not tree:
            break
        for name in sorted(imported_names(path, package)):
            found = _origin(name)
            if found is not None and found[0].suffix == ".py" and found[0].is_relative_to(root):
                todo.append(found)
    digest = hashlib.sha256()
    rel = sorted((p.relative_to(base).as_posix(), p) for p in files)
    for name, path in rel:
        dump = code_fingerprint(path.read_text())
        digest.update(f"{name}\0{len(dump)}\0".encode())
        digest.update(dump.encode())
    return digest.hexdigest()[:16], tuple(name for name, _ in rel)


def _resolve_target(spec: str, target: str, attr: str, where: str = "") -> ExternalModel:
    if _is_file_spec(target):
        path = Path(target).expanduser()
        if not path.is_file():
            raise SrbenchError(f"model {spec!r}: file {path} does not exist")
        if path.suffix != ".py":
            raise SrbenchError(f"model {spec!r}: {path} is not a Python file (expected path/to/file.py:builder)")
        with _isolated(path.resolve().parent):
            module = _import_file(path, spec)
            builder = _attribute(module, attr, spec, str(path))
            digest, files = code_hash(module, file_spec=True)
        return ExternalModel(spec=spec, builder=builder, source=str(path), code_hash=digest, files=files)
    module = _import_module(target, spec, where)
    source = str(_module_file(module) or target)
    builder = _attribute(module, attr, spec, source)
    digest, files = code_hash(module, file_spec=False) if _module_file(module) else ("unknown", ())
    return ExternalModel(spec=spec, builder=builder, source=source, code_hash=digest, files=files)


@lru_cache(maxsize=64)
def _resolve_cached(spec: str) -> ExternalModel:
    if is_spec(spec):
        target, _, attr = spec.rpartition(":")
        if not target or not attr:
            raise SrbenchError(f"model {spec!r}: expected path/to/file.py:builder or package.module:builder")
        return _resolve_target(spec, target, attr)
    points = entry_points().get(spec, [])
    if len(points) > 1:
        raise SrbenchError(f"model {spec!r}: registered by several installed packages in the entry-point group "
                           f"{ENTRY_POINT_GROUP} ({', '.join(ep.value for ep in points)}); uninstall one")
    ep = points[0]
    if not ep.attr:
        raise SrbenchError(f"model {spec!r}: entry point {ep.value!r} ({ENTRY_POINT_GROUP}) names a module, not a "
                           "builder; register 'package.module:builder'")
    return _resolve_target(spec, ep.module, ep.attr, where=f"(entry point {spec!r}) ")


def find(name: str) -> ExternalModel | None:
    """The external model ``name`` names (a builder spec or an installed entry point), or None if it names none.

    Resolved once per process per name (the file is imported once); a bad file, module or builder raises a one-line
    :class:`SrbenchError` naming it.
    """
    if not is_spec(name) and name not in entry_points():
        return None
    return _resolve_cached(name)


def _takes(fn: Callable, keyword: str) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) or p.kind == p.VAR_KEYWORD
               for p in params)


def forward_takes_scale(module: nn.Module, where: str) -> bool:
    """Whether ``forward`` takes a scale argument; a forward that cannot take ``(x)`` or ``(x, scale)`` is refused."""
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    varargs = any(p.kind == p.VAR_POSITIONAL for p in params)
    required_kw = [p.name for p in params if p.kind == p.KEYWORD_ONLY and p.default is p.empty]
    if (not positional and not varargs) or len(required) > 2 or required_kw:
        sig = inspect.signature(module.forward)
        raise SrbenchError(f"{where}: forward{sig} must be forward(x, scale) or forward(x)")
    return varargs or len(positional) >= 2


def _scales(value, where: str) -> tuple[int, ...]:
    values = (value,) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else None
    if not values or any(not isinstance(s, int) or isinstance(s, bool) or s not in SCALES for s in values) \
            or len(set(values)) != len(values):
        raise SrbenchError(f"{where}: scales={value!r}; declare an int or a tuple of distinct scales from {SCALES}")
    return values


def _single_scale_call(module: nn.Module, args: tuple) -> tuple:
    """Forward pre-hook of a ``forward(x)`` model: check the harness's scale argument and drop it."""
    if len(args) >= 2:
        scale = args[1]
        if scale not in module.scales:
            raise SrbenchError(f"{module.arch} makes x{module.scales[0]} only (its forward takes no scale); "
                               f"cannot run at x{scale}")
        return args[:1]
    return args


def build(ext: ExternalModel, *, scales: int | tuple[int, ...] = SCALES, group: int | None = None) -> nn.Module:
    """Call the builder and bring its module to the harness's interface: a ``scales`` tuple and ``model(x, scale)``.

    The module is the builder's own (no wrapper), so its state_dict keys are unchanged and checkpoints load into it
    strictly; a ``forward(x)`` model gets a forward pre-hook that checks and drops the scale argument.
    """
    where = f"model {ext.spec!r} ({ext.source})"
    kwargs: dict = {}
    if _takes(ext.builder, "scales"):
        kwargs["scales"] = scales
    if group is not None:
        if not _takes(ext.builder, "group"):
            raise SrbenchError(f"{where}: the builder takes no 'group' argument")
        kwargs["group"] = group
    try:
        module = ext.builder(**kwargs)
    except SrbenchError:
        raise
    except TypeError as exc:
        raise SrbenchError(f"{where}: calling the builder with {kwargs or 'no arguments'} failed "
                           f"({one_line(exc)}); it must be callable with no arguments (optionally scales=)") from None
    except Exception as exc:
        raise SrbenchError(f"{where}: the builder raised {one_line(exc)}") from None
    if not isinstance(module, nn.Module):
        raise SrbenchError(f"{where}: the builder returned {type(module).__name__}, not a torch.nn.Module")
    takes_scale = forward_takes_scale(module, where)
    declared = getattr(module, "scales", None)
    if declared is not None:
        model_scales = _scales(declared, where)
    elif takes_scale:
        model_scales = (scales,) if isinstance(scales, int) else tuple(scales)
    else:
        raise SrbenchError(f"{where}: forward(x) takes no scale, so the module must declare the one scale it makes "
                           f"(an attribute scales = (4,))")
    if not takes_scale:
        if len(model_scales) != 1:
            raise SrbenchError(f"{where}: forward(x) takes no scale but the module declares scales={model_scales}; "
                               "declare exactly one, or take the scale as forward(x, scale)")
        module.register_forward_pre_hook(_single_scale_call)
    try:
        module.scales = model_scales
    except (AttributeError, TypeError) as exc:
        raise SrbenchError(f"{where}: cannot set its scales attribute ({one_line(exc)})") from None
    module.srbench_external = ext
    return module
