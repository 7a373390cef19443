"""Reliability of the tracking side (issue 11, items 6-11): the store survives interrupted creation, a dead server
fails fast, concurrent benchmarks compute a cell once, SIGTERM is Ctrl-C, commands write only where they should, and
bad names, URIs, outputs and devices are one-line errors before any work.

Private MLflow stores in tmp_path throughout; the one measured cell is bicubic on Set5 (or a crop of it) with latency
and memory off. Stores that only need to exist are copies of one store made per module (creating MLflow's schema
takes seconds).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from srbench.cli import main
from srbench.core.errors import SrbenchError
from srbench.track import tracking
from conftest import deliver_signal

REPO = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------------------------
# helpers

def _db(uri: str) -> Path:
    return Path(uri[len("sqlite:///"):])


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _read_only(path: Path):
    """Make a file or folder read-only for this process (chattr +i when root, where permissions do not bind)."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if done.returncode:
            pytest.skip(f"cannot make {path} read-only as root here (chattr +i: {done.stderr.decode().strip()})")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)


def _experiment(tmp_path: Path, name: str = "rel", datasets: str = "[Set5]", scales: str = "[4]") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ndatasets: {datasets}\nscales: {scales}\ndevice: cpu\n"
                    "measure: {latency: false, memory: false}\nmodels:\n  - {model: bicubic}\n")
    return path


def _runs(db: Path) -> list[tuple[str, str]]:
    """(status, srbench.kind) of every active run, read with sqlite3 alone."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
        return con.execute("select r.status, coalesce(t.value, '') from runs r left join tags t on "
                           "t.run_uuid = r.run_uuid and t.key = 'srbench.kind' "
                           "where r.lifecycle_stage = 'active'").fetchall()


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in err
    return lines[0]


# ----------------------------------------------------------------------------------------------------------------
# 6. interrupted creation of a SQLite store

_KILL_MID_CREATION = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
count = [0]
@event.listens_for(Engine, "after_cursor_execute")
def _count(*args):
    count[0] += 1
    if count[0] == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
from srbench.track import tracking
tracking.client(sys.argv[1])
"""


@pytest.mark.slow
def test_kill_9_during_store_creation_leaves_a_store_the_next_command_uses(tmp_path):
    db = tmp_path / "mlruns" / "mlflow.db"
    uri = f"sqlite:///{db}"
    # MLflow's schema creation runs about 1,700 SQL statements: kill -9 the process at the 400th
    killed = subprocess.run([sys.executable, "-c", _KILL_MID_CREATION, uri, "400"], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    client = tracking.client(uri)
    experiment_id = tracking.get_or_create_experiment(client, "after_kill")
    run = client.create_run(experiment_id)
    client.set_terminated(run.info.run_id, "FINISHED")
    assert _runs(db) == [("FINISHED", "")]
    assert not list(db.parent.glob(".mlflow.db.*creating*")), "the killed creation's temporary file is cleaned up"


@pytest.mark.slow
def test_store_left_incomplete_and_empty_is_rebuilt(tmp_path, capsys):
    """A half-made store (MLflow's migrations interrupted at statement 400, as an earlier srbench left it)."""
    import sqlalchemy
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    import mlflow.store.db.utils as db_utils

    db = tmp_path / "mlflow.db"
    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    count = [0]

    def interrupt(*args):
        count[0] += 1
        if count[0] == 400:
            raise KeyboardInterrupt

    event.listen(Engine, "after_cursor_execute", interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            db_utils._initialize_tables(engine)
    finally:
        event.remove(Engine, "after_cursor_execute", interrupt)
        engine.dispose()
    assert db.stat().st_size > 0
    capsys.readouterr()
    client = tracking.client(f"sqlite:///{db}")
    assert "creating it again" in capsys.readouterr().err
    run = client.create_run(tracking.get_or_create_experiment(client, "rebuilt"))
    assert client.get_run(run.info.run_id).info.status == "RUNNING"


def test_store_with_runs_under_an_old_schema_is_refused_and_kept(store):
    client = tracking.client(store)
    client.create_run(tracking.get_or_create_experiment(client, "kept"))
    db = _db(store)
    with contextlib.closing(sqlite3.connect(db)) as con, con:
        con.execute("update alembic_version set version_num = '451aebb31d03'")  # MLflow's first revision
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(SrbenchError) as err:
        tracking.client(store)
    msg = str(err.value)
    assert str(db) in msg and "1 run(s)" in msg and "mlflow db upgrade" in msg and "\n" not in msg
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before, "a store with runs is never rebuilt"


def test_corrupt_store_file_is_a_one_line_error(tmp_path, capsys, benchmark_root):
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"this is not a database, but it could be someone's file\n" * 100)
    before = db.read_bytes()
    assert main(["benchmark", str(_experiment(tmp_path)), "--tracking-uri", f"sqlite:///{db}", "--no-progress",
                 "--summary", str(tmp_path / "s.md")]) == 2
    _one_line_error(capsys, str(db), "not a readable SQLite database")
    assert db.read_bytes() == before


def test_read_only_store_refused_for_writing_readable_for_reports(store, tmp_path, capsys, benchmark_root):
    db = _db(store)
    with _read_only(db):
        assert main(["benchmark", str(_experiment(tmp_path)), "--tracking-uri", store, "--no-progress",
                     "--summary", str(tmp_path / "s.md")]) == 2
        _one_line_error(capsys, str(db), "read-only")
        assert tracking.client(store, write=False).search_experiments()  # what `srbench report` opens
    with _read_only(db.parent):  # the folder too (SQLite writes its journal there; no lock file can be made)
        with pytest.raises(SrbenchError, match="read-only"):
            tracking.client(store)
        assert tracking.client(store, write=False).search_experiments()


# ----------------------------------------------------------------------------------------------------------------
# 7. an unreachable tracking server fails fast, naming the URI

def test_unreachable_server_fails_within_seconds_naming_the_uri(tmp_path, capsys, monkeypatch, benchmark_root):
    uri = f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with pytest.raises(SrbenchError, match=f"tracking server {uri} is unreachable"):
        tracking.client(uri)
    assert time.monotonic() - start < 10
    start = time.monotonic()
    assert main(["benchmark", str(_experiment(tmp_path)), "--tracking-uri", uri, "--no-progress",
                 "--summary", str(tmp_path / "s.md")]) == 2
    _one_line_error(capsys, uri, "unreachable")
    assert main(["report", "--tracking-uri", uri, "--out", str(tmp_path / "rep")]) == 2
    _one_line_error(capsys, uri, "unreachable")
    assert time.monotonic() - start < 60  # both commands, imports included, on a loaded machine
    assert not (tmp_path / "rep").exists() and not (tmp_path / "s.md").exists()
    # a server that accepts the connection but never answers: refused after the server check's timeout
    from srbench.track import backend

    monkeypatch.setattr(backend, "SERVER_TIMEOUT_S", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        hung = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(SrbenchError, match=r"unreachable \(no answer within 0.5 s\)"):
            tracking.client(hung)
    # any HTTP answer means a server is there (MLflow then reports what it says)
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)  # answers 501
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend.check_server(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    # a database server gets the same treatment, and the message hides the password
    db_uri = f"postgresql://user:secret@127.0.0.1:{_closed_port()}/mlflow"
    with pytest.raises(SrbenchError, match="unreachable") as err:
        tracking.client(db_uri)
    assert "secret" not in str(err.value) and "user:***@127.0.0.1" in str(err.value)


# ----------------------------------------------------------------------------------------------------------------
# 8. two benchmarks at once on one fresh store compute each cell once

_AT_THE_SIGNAL = """
import sys, time
from pathlib import Path
import srbench.cli, srbench.track.benchmark, mlflow.tracking  # the slow imports happen before the start line
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.01)
sys.exit(srbench.cli.main(sys.argv[3:]))
"""


@pytest.mark.slow
def test_two_concurrent_benchmarks_compute_each_cell_once(tmp_path, store, benchmark_root):
    db = _db(store)  # no experiment, no runs (a copy of an empty store, so that both start at once)
    path = _experiment(tmp_path, "twice", datasets="[Set5, Set14]")  # one cell, long enough (seconds) to overlap
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _AT_THE_SIGNAL, str(tmp_path / f"ready{k}"), str(go),
                               "benchmark", str(path), "--tracking-uri", f"sqlite:///{db}", "--no-progress",
                               "--summary", str(tmp_path / f"summary{k}.md")],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (0, 1)]
    deadline = time.time() + 300
    while not all((tmp_path / f"ready{k}").exists() for k in (0, 1)):
        assert time.time() < deadline and all(p.poll() is None for p in procs), "the benchmarks did not start"
        time.sleep(0.05)
    go.touch()
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        outs.append(out)
    cells = [status for status, kind in _runs(db) if kind == "cell"]
    assert cells == ["FINISHED"], "exactly one run per cell"
    assert sorted("1 cell(s) computed, 0 reused" in o for o in outs) == [False, True]
    assert sorted("0 cell(s) computed, 1 reused" in o for o in outs) == [False, True], "the other one reused it"


def test_server_claims_held_once_released_and_stale_ones_taken_over(store, monkeypatch):
    """The claim used where no file lock can be (a tracking server), exercised on a SQLite store."""
    from srbench.track import claims, orphans
    from srbench.track.claims import CellClaims

    client = tracking.client(store)
    eid = tracking.get_or_create_experiment(client, "claims")
    a, b = CellClaims(client, eid, local=False), CellClaims(client, eid, local=False)
    with a.hold("k1", wait=False) as held_a:
        assert held_a
        with b.hold("k1", wait=False) as held_b:
            assert not held_b
        with b.hold("k2", wait=False) as held_other:
            assert held_other
    with b.hold("k1", wait=False) as held_b:
        assert held_b, "released when the holder is done"

    gone = subprocess.Popen(["true"])
    gone.wait()
    dead_pid = str(gone.pid)
    tags = {"srbench.kind": "claim", "srbench.host": socket.gethostname(), "srbench.pid": dead_pid,
            "srbench.heartbeat": "0"}
    dead = client.create_run(eid, tags={**tags, "srbench.claim_key": "k3"})
    with b.hold("k3", wait=False) as held:
        assert held, "a claim whose process on this host is gone is stale"
    assert client.get_run(dead.info.run_id).info.status == "KILLED"

    monkeypatch.setattr(orphans, "STALE_AFTER_S", 0.5)
    monkeypatch.setattr(claims, "POLL_S", 0.1)
    far = client.create_run(eid, tags={**tags, "srbench.claim_key": "k4", "srbench.host": "elsewhere",
                                       "srbench.pid": "1"})
    with b.hold("k4", wait=False) as held:
        assert not held, "a live claim of another host is honoured"
    start = time.monotonic()
    with b.hold("k4", wait=True) as held:
        assert held
    assert time.monotonic() - start >= 0.5, "taken over only after its heartbeat stopped for STALE_AFTER_S"
    assert client.get_run(far.info.run_id).info.status == "KILLED"
    left = client.search_runs([eid], filter_string="tags.`srbench.kind` = 'claim'")
    assert sorted(r.info.status for r in left) == ["KILLED", "KILLED"], "released claims are deleted"


def test_local_claims_are_file_locks(store):
    from srbench.track.claims import CellClaims

    client = tracking.client(store)
    eid = tracking.get_or_create_experiment(client, "locks")
    a, b = CellClaims(client, eid), CellClaims(client, eid)
    with a.hold("k", wait=False) as held_a, b.hold("k", wait=False) as held_b:
        assert held_a and not held_b
    with b.hold("k", wait=False) as held_b:
        assert held_b
    assert (_db(store).parent / "locks" / "k.lock").is_file()
    assert client.search_runs([eid]) == [], "a local claim makes no run"


# ----------------------------------------------------------------------------------------------------------------
# 9. SIGTERM is handled like Ctrl-C

def test_sigterm_during_benchmark_marks_runs_killed_and_says_rerun(tmp_path, store, capsys, benchmark_root):
    import srbench.track.cell_log as cell_log

    measure = cell_log.measure_cell

    def terminated_while_measuring(*args, **kwargs):
        deliver_signal(signal.SIGTERM)  # as `kill <pid>` would, while the cell's run is RUNNING
        return measure(*args, **kwargs)

    with _sigterm_guard(), pytest.MonkeyPatch.context() as m:
        m.setattr(cell_log, "measure_cell", terminated_while_measuring)
        code = main(["benchmark", str(_experiment(tmp_path, "term")), "--no-progress",
                     "--summary", str(tmp_path / "s.md")])
    err = capsys.readouterr().err
    assert code == 143, err
    assert "run the same command again to resume" in err.strip().splitlines()[-1]
    assert sorted(_runs(_db(store))) == [("KILLED", "benchmark"), ("KILLED", "cell")]


@contextlib.contextmanager
def _sigterm_guard():
    """A SIGTERM that reaches this handler (one the command does not handle) fails the test instead of killing
    pytest."""
    def unhandled(signum, frame):
        raise AssertionError("SIGTERM was not handled by the command")

    previous = signal.signal(signal.SIGTERM, unhandled)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _tiny_h5(tmp_path: Path) -> Path:
    import numpy as np
    from PIL import Image

    from srbench.data.prepare import prepare

    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(4):
        Image.fromarray(rng.integers(0, 256, (40, 44, 3)).astype(np.uint8)).save(folder / f"img{k}.png")
    path, _ = prepare(folder, tmp_path / "train.h5", progress=False)
    return path


@contextlib.contextmanager
def _sigterm_on_batch(n: int):
    """Deliver SIGTERM to this process when the n-th training batch is drawn (under :func:`_sigterm_guard`)."""
    from srbench.train.data import PatchSampler

    original, calls = PatchSampler.next_batch, {"n": 0}

    def patched(self):
        calls["n"] += 1
        if calls["n"] == n:
            deliver_signal(signal.SIGTERM)
        return original(self)

    PatchSampler.next_batch = patched
    try:
        with _sigterm_guard():
            yield
    finally:
        PatchSampler.next_batch = original


def test_sigterm_during_train_and_ablate_is_ctrl_c(tmp_path, store, capsys, benchmark_root):
    from srbench.train.trainer import load_training_checkpoint

    h5 = _tiny_h5(tmp_path)
    recipe = REPO / "experiments" / "train" / "smoke.yaml"
    out = tmp_path / "train_out"
    # what the commands must restore: the handler the process had (SIG_IGN, not default_int_handler, when pytest was
    # started in the background by a non-interactive shell; earlier tests may also have installed one)
    sigint_before = signal.getsignal(signal.SIGINT)
    with _sigterm_on_batch(3):
        code = main(["train", str(recipe), "--no-progress", "--max-steps", "20", "--set", f"train_data={h5}",
                     "--set", "val_dataset=null", "--set", "ckpt_every=100", "--set", f"out_dir={out}",
                     "--set", "prefetch=0"])  # batches drawn in the loop: the signal comes at a known step
    err = capsys.readouterr().err
    assert code == 143, err
    assert "run the same command again to resume" in err
    ckpt = load_training_checkpoint(out / "last.pt")
    assert ckpt["step"] == 3, "like Ctrl-C: the step in progress finishes and is checkpointed"
    client = tracking.client(store)
    assert client.get_run(ckpt["run_id"]).info.status == "KILLED"

    ablation = tmp_path / "abl.yaml"
    ablation.write_text(f"name: abl_term\nbase: {recipe}\nbudget: a few steps\nout_root: {tmp_path / 'abl'}\n"
                        f"set: {{max_steps: 20, ckpt_every: 100, val_dataset: null, train_data: {h5}, prefetch: 0}}\n"
                        "evaluate: {datasets: [Set5], scale: 2}\nmeasure: {latency: false, memory: false}\n"
                        "grid: {group: [4]}\n")
    with _sigterm_on_batch(2):
        code = main(["ablate", str(ablation), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 143, err
    assert "run the same command again to resume" in err
    exp = client.get_experiment_by_name("abl_term")
    assert [r.info.status for r in client.search_runs([exp.experiment_id])] == ["KILLED"]
    assert signal.getsignal(signal.SIGINT) is sigint_before, "the command restored the handlers"


# ----------------------------------------------------------------------------------------------------------------
# 10. writes: no git lock, run weights in the store's cache by content

@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_commit_takes_no_index_lock(tmp_path, monkeypatch):
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("a")
    subprocess.run(git + ["add", "f"], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-qm", "x"], cwd=tmp_path, check=True)
    index = tmp_path / ".git" / "index"
    old = index.stat().st_mtime_ns - 10**9
    os.utime(index, ns=(old, old))
    os.utime(tmp_path / "f")  # stat data changed, content not: a plain `git status` rewrites the index
    monkeypatch.setattr(tracking, "REPO_ROOT", tmp_path)
    tracking.git_commit.cache_clear()
    try:
        assert not tracking.git_commit().endswith("-dirty")
    finally:
        tracking.git_commit.cache_clear()
    assert index.stat().st_mtime_ns == old, "git status took .git/index.lock and rewrote the index"


def _train_run(client, experiment_id: str, tmp_path: Path, payload: bytes, tag_sha: str | None = None) -> str:
    weights = tmp_path / "upload" / "final.pth"
    weights.parent.mkdir(exist_ok=True)
    weights.write_bytes(payload)
    run = client.create_run(experiment_id, tags={
        "srbench.kind": "train", "srbench.weights_sha256.final": tag_sha or hashlib.sha256(payload).hexdigest()})
    client.log_param(run.info.run_id, "model", "carn_m")
    client.log_param(run.info.run_id, "scale", "4")
    client.log_artifact(run.info.run_id, str(weights), "weights")
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def test_run_weights_are_cached_in_the_store_by_content(store, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from srbench.track.run_weights import resolve_run_weights

    data_store = tmp_path / "store"
    monkeypatch.setenv("SRBENCH_STORE", str(data_store))
    client = tracking.client(store)
    eid = tracking.get_or_create_experiment(client, "training")
    payload = b"weights of run one"
    sha = hashlib.sha256(payload).hexdigest()
    run_id = _train_run(client, eid, tmp_path, payload)
    path, digest, build = resolve_run_weights(f"run:{run_id}")
    cache = data_store / "cache" / "run_weights"
    assert path == cache / f"{sha}.pth" and digest == sha and path.read_bytes() == payload
    assert build == {"model": "carn_m", "group": None, "scales": 4}
    assert sorted(p.name for p in cache.iterdir()) == [f"{sha}.pth"] and not (data_store / "weights").exists()

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded although the cache holds the content")

    with monkeypatch.context() as m:
        m.setattr(MlflowClient, "download_artifacts", no_download)
        assert resolve_run_weights(f"run:{run_id}")[0] == path
    path.write_bytes(b"damaged")  # a cache entry whose content is not its name's is repaired
    assert resolve_run_weights(f"run:{run_id}")[0].read_bytes() == payload
    # an artifact that does not match its run's tag: refused, and nothing is left in the cache
    bad = _train_run(client, eid, tmp_path, b"other bytes", tag_sha="0" * 64)
    with pytest.raises(SrbenchError, match="not the run's tag"):
        resolve_run_weights(f"run:{bad}")
    assert sorted(p.name for p in cache.iterdir()) == [f"{sha}.pth"]


# ----------------------------------------------------------------------------------------------------------------
# 11. one-line errors before any work

@pytest.mark.parametrize("text,needle", [
    ('name: ""\nmodels: [{model: bicubic}]\n', "non-empty name"),
    ("name: ../outside\nmodels: [{model: bicubic}]\n", "artifact folder"),
    (f"name: {'x' * 501}\nmodels: [{{model: bicubic}}]\n", "at most 500"),
    ("name: e\nmodels: []\n", "models: the list is empty"),
    ("name: e\ndatasets: []\nmodels: [{model: bicubic}]\n", "datasets: the list is empty"),
    ("name: e\nscales: []\nmodels: [{model: bicubic}]\n", "scales: the list is empty"),
    ("name: e\nmodels: [{model: bicubic, scales: []}]\n", "scales is an empty list"),
    ("name: e\nmodels: [{model: bicubic, datasets: []}]\n", "datasets is an empty list"),
    ("name: e\nmeasure: {repeats: 0}\nmodels: [{model: bicubic}]\n", "repeats must be >= 1"),
    ("name: e\nmeasure: {out_height: 0}\nmodels: [{model: bicubic}]\n", "out_height and out_width must be >= 1"),
])
def test_bad_experiment_files_are_refused_naming_the_file(tmp_path, text, needle):
    from srbench.track.experiment import load_experiment

    path = tmp_path / "exp.yaml"
    path.write_text(text)
    with pytest.raises(SrbenchError) as err:
        load_experiment(path)
    assert needle in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_experiment_name_limit_is_mlflows():
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_experiment_name

    _validate_experiment_name("x" * 500)
    tracking.check_experiment_name("x" * 500)
    with pytest.raises(MlflowException):
        _validate_experiment_name("x" * 501)
    with pytest.raises(SrbenchError):
        tracking.check_experiment_name("x" * 501)


def test_narrowing_to_nothing_is_an_error_but_narrowing_some_entries_away_is_not():
    from srbench.track.experiment import load_experiment, narrow

    exp = load_experiment(REPO / "experiments" / "benchmark.yaml")
    narrowed = narrow(exp, scales=[2])  # the x4-only entries drop out, the others stay
    assert narrowed.models and all(e.scales is None or e.scales for e in narrowed.models)
    assert len(narrowed.models) < len(exp.models)
    with pytest.raises(SrbenchError, match="--models carn_m_half --scales 2: no model entry"):
        narrow(exp, models=["carn_m_half"], scales=[2])


@pytest.mark.parametrize("folder_name", ["Set+5", "S" * 240])
def test_dataset_name_mlflow_rejects_is_refused_before_any_work(tmp_path, store, folder_name, benchmark_root):
    from srbench.track.experiment import load_experiment
    from srbench.track.benchmark import run_benchmark

    folder = tmp_path / folder_name / "HR"
    folder.mkdir(parents=True)
    shutil.copy(benchmark_root / "Set5" / "HR" / "baby.png", folder / "baby.png")
    exp = load_experiment(_experiment(tmp_path, datasets=f"['{folder.parent}']"))
    with pytest.raises(SrbenchError, match="MLflow") as err:
        run_benchmark(exp, tracking_uri=store, progress=False)
    assert str(folder.parent) in str(err.value)
    assert _runs(_db(store)) == [], "refused before any run was made"
    assert not (folder.parent / "LR_bicubic").exists(), "refused before any LR was generated"


@pytest.mark.parametrize("uri,needle", [
    ("file:", "file store is not supported"),
    ("file:///tmp/somewhere", "file store is not supported"),
    ("mlruns_folder", "file store is not supported"),
    ("foo://bar", "unknown scheme foo:"),
    ("sqlite://", "in-memory or malformed"),
    ("sqlite:///:memory:", "in-memory or malformed"),
])
def test_bad_tracking_uris_are_one_line_errors(uri, needle, tmp_path, monkeypatch, capsys, benchmark_root):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    assert main(["benchmark", str(_experiment(tmp_path)), "--tracking-uri", uri, "--no-progress",
                 "--summary", str(tmp_path / "s.md")]) == 2
    _one_line_error(capsys, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel.yaml"], "nothing was written"


def test_relative_sqlite_uri_is_resolved_against_the_cwd_and_said_so(tmp_path, template_db, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here").mkdir()
    shutil.copy(template_db, tmp_path / "here" / "x.db")
    client = tracking.client("sqlite:///here/x.db")
    assert client.tracking_uri == f"sqlite:///{tmp_path / 'here' / 'x.db'}"
    assert "relative to the working directory" in capsys.readouterr().err
    exp = client.get_experiment(tracking.get_or_create_experiment(client, "rel"))
    assert exp.artifact_location == (tmp_path / "here" / "artifacts" / "rel").as_uri()


def test_unwritable_outputs_are_refused_before_any_work(tmp_path, store, capsys, benchmark_root):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    exp = str(_experiment(tmp_path))
    assert main(["benchmark", exp, "--no-progress", "--summary", str(blocker / "s.md")]) == 2
    _one_line_error(capsys, "--summary", str(blocker))
    assert main(["benchmark", exp, "--no-progress", "--summary", str(tmp_path)]) == 2
    _one_line_error(capsys, "--summary", "is a folder")
    assert main(["report", "--out", str(blocker)]) == 2
    _one_line_error(capsys, "--out", "not a folder")
    assert main(["prepare", str(tmp_path), "-o", str(blocker / "x.h5")]) == 2
    _one_line_error(capsys, "-o", str(blocker))
    locked = tmp_path / "locked"
    locked.mkdir()
    with _read_only(locked):
        assert main(["benchmark", exp, "--no-progress", "--summary", str(locked / "sub" / "s.md")]) == 2
        _one_line_error(capsys, "--summary", "not writable")
        assert main(["report", "--out", str(locked / "rep")]) == 2
        _one_line_error(capsys, "--out", "not writable")
    assert _runs(_db(store)) == [], "nothing ran"


@pytest.mark.parametrize("command", [
    ["evaluate", "--model", "bicubic", "--dataset", "Set5", "--scale", "4", "--no-progress", "--device", "meta"],
    ["benchmark", "EXP", "--no-progress", "--device", "meta"],
])
def test_meta_device_is_refused(command, tmp_path, store, capsys, benchmark_root):
    command = [str(_experiment(tmp_path)) if c == "EXP" else c for c in command]
    assert main(command + (["--summary", str(tmp_path / "s.md")] if command[0] == "benchmark" else [])) == 2
    _one_line_error(capsys, "'meta'", "not a compute device")
