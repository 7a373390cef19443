"""``run:<mlflow run id>[:final|:best]`` weights: the files ``srbench train`` logged, downloaded and checksum-checked.

Lives in the tracking layer (it reads the store); the measurement layer receives it as a resolver
(:func:`srbench.eval.weights.resolve_weights`), so evaluation code never imports the trainer or MLflow.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.eval.weights import ResolvedWeights
from srbench.eval.weights import resolve_weights as _resolve_local
from srbench.track import tags as T


_RUN_SPEC = re.compile(r"run:([0-9a-fA-F]{8,64})(?::(final|best))?")


def resolve_run_weights(spec: str, *, dest: str | os.PathLike | None = None) -> tuple[Path, str, dict]:
    """``run:<run_id>[:final|:best]`` -> (local weights file, its sha256, build kwargs).

    The build kwargs come from the run's params: ``{"model": name, "group": g, "scales": s}`` with ``scales`` an int
    for a single-scale run and ``(2, 3, 4)`` for a multi-scale one (``create_model(**kwargs)``-ready once ``model``
    is popped). ``final`` (default) needs a FINISHED run; ``best`` exists as soon as a validation has run.

    The file is cached as ``<dest>/<sha256>.pth`` (default ``dest``: ``<store>/cache/run_weights``), named by the
    content the run's sha256 tag declares: a cached file with that content is used without downloading; otherwise
    the artifact is downloaded beside it, checked against the tag, and only then renamed into place (replacing only a
    file that does not hold the content its name says, i.e. a damaged cache entry).
    """
    from srbench.track import tracking

    m = _RUN_SPEC.fullmatch(spec.strip())
    if not m:
        raise SrbenchError(f"weights {spec!r}: expected run:<mlflow run id> or run:<id>:best / run:<id>:final")
    run_id, which = m.group(1), m.group(2) or "final"
    client = tracking.client()
    run, expected = _training_run(client, spec, run_id, which)
    local = _cached_download(client, spec, run_id, which, expected, dest)
    params = run.data.params
    scale = int(params.get("scale", "0"))
    group = params.get("group")
    build = {"model": params["model"], "group": int(group) if group not in (None, "None") else None,
             "scales": scale if scale else (2, 3, 4)}
    return local, expected, build


def _training_run(client, spec: str, run_id: str, which: str):
    """(the training run, the sha256 its tag declares for its ``which`` weights), each check a one-line error."""
    try:
        run = client.get_run(run_id)
    except Exception as exc:  # noqa: BLE001 - MlflowException: unknown id
        raise SrbenchError(f"weights {spec}: no MLflow run {run_id} in {client.tracking_uri} "
                           f"({str(exc).splitlines()[0][:120]})") from None
    tags = run.data.tags
    if tags.get(T.KIND) != T.KIND_TRAIN:
        raise SrbenchError(f"weights {spec}: run {run_id} is not a training run (srbench.kind="
                           f"{tags.get(T.KIND)!r})")
    expected = tags.get(T.trained_weights_sha256(which))
    if which == "final" and run.info.status != "FINISHED":
        raise SrbenchError(f"weights {spec}: run {run_id} is {run.info.status}, it has no final weights; resume "
                           f"it with `srbench train <recipe> --resume` or use run:{run_id}:best")
    if expected is None:
        raise SrbenchError(f"weights {spec}: run {run_id} logged no {which} weights"
                           + (" (it ran no validation)" if which == "best" else ""))
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise SrbenchError(f"weights {spec}: run {run_id} has a malformed srbench.weights_sha256.{which} tag "
                           f"{expected!r}")
    return run, expected


def _cached_download(client, spec: str, run_id: str, which: str, expected: str,
                     dest: str | os.PathLike | None) -> Path:
    """``<dest>/<expected>.pth``: the cached file when it holds that content, else the artifact downloaded beside
    it, checked, and renamed into place."""
    import tempfile

    from srbench.core.hashing import sha256_file
    from srbench.core.store import store_root

    folder = Path(dest) if dest is not None else store_root() / "cache" / "run_weights"
    local = folder / f"{expected}.pth"
    if local.is_file() and sha256_file(local) == expected:
        return local
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        try:
            fetched = Path(client.download_artifacts(run_id, f"weights/{which}.pth", tmp))
        except Exception as exc:  # noqa: BLE001
            raise SrbenchError(f"weights {spec}: cannot download weights/{which}.pth "
                               f"({str(exc).splitlines()[0][:160]})") from None
        digest = sha256_file(fetched)
        if digest != expected:
            raise SrbenchError(f"weights {spec}: the downloaded weights/{which}.pth has sha256 {digest}, not the "
                               f"run's tag {expected}; the artifact is corrupt or was replaced")
        os.replace(fetched, local)
    return local


def resolve_weights(spec: str | None, model: str, *, scale: int | None = None) -> ResolvedWeights:
    """Any weights spec, ``run:`` ones included (see :func:`srbench.eval.weights.resolve_weights`)."""
    return _resolve_local(spec, model, run_resolver=resolve_run_weights, scale=scale)


def weights_per_scale(spec: str | None, model: str, scales: list[int]) -> tuple[dict[int, ResolvedWeights],
                                                                             dict[int, str]]:
    """A weights spec resolved for each of ``scales``, and a one-line note per scale it has no weights for.

    srbench's own models resolve their spec once for every scale. A field model (single-scale: one released file per
    scale, :mod:`srbench.models.zoo`) resolves it per scale: ``imdn`` is ``imdn_x2`` at x2, and a scale without a
    released file (``rlfn`` at x2) gets a note instead of an error, so that an experiment can list the field at every
    scale and skip what does not exist.
    """
    from srbench.models.weights import NoWeightsAtScale
    from srbench.models.zoo import is_zoo

    if not is_zoo(model):
        weights = resolve_weights(spec, model)
        return {s: weights for s in scales}, {}
    per_scale, notes = {}, {}
    for scale in scales:
        try:
            per_scale[scale] = resolve_weights(spec, model, scale=scale)
        except NoWeightsAtScale as exc:
            notes[scale] = f"x{scale}: {exc}"
    return per_scale, notes
