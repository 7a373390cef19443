"""Clusters (issue 27): shards on several machines never lose, duplicate or re-probe a cell, or are refused.

Simulated hosts are processes with their own ``$SRBENCH_HOST_ID`` (and their own runtime cache, as on another node)
writing one SQLite store through claim runs, as they would through a tracking server: ``_HOST`` below takes away the
file locks only one kernel shares (``claims.local_lock_dir``), shortens the declared timeouts and counts runtime
probes. In-process tests use a fake clock (``orphans.clock``, ``claims.sleep``). Cells are bicubic or an untrained
CARN-M (its graph runtimes decline at once, so auto's probe is short) on the tiny three-image dataset.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from srbench.cli import main
from srbench.core.errors import SrbenchError
from srbench.track import claims, hosts, orphans, store_sharing, tracking
from srbench.track.claims import CellClaims

REPO = Path(__file__).resolve().parent.parent


def _experiment(tmp_path: Path, models: str, datasets: str, scales: str = "[2]", name: str = "cl") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ndatasets: {datasets}\nscales: {scales}\ndevice: cpu\n"
                    f"measure: {{latency: false, memory: false}}\nmodels:\n{models}")
    return path


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _runs(db: Path) -> list[tuple[str, str, str]]:
    """(status, srbench.kind, srbench.cell_key) of every active run, read with sqlite3 alone."""
    with sqlite3.connect(db, timeout=30) as con:
        return con.execute(
            "select r.status, coalesce(k.value, ''), coalesce(c.value, '') from runs r "
            "left join tags k on k.run_uuid = r.run_uuid and k.key = 'srbench.kind' "
            "left join tags c on c.run_uuid = r.run_uuid and c.key = 'srbench.cell_key' "
            "where r.lifecycle_stage = 'active'").fetchall()


# ----------------------------------------------------------------------------------------------------------------
# one-line refusals

def test_store_under_proc_is_a_one_line_error(tmp_path, capsys, benchmark_root):
    path = _experiment(tmp_path, "  - {model: bicubic}\n", "[Set5]")
    assert main(["benchmark", str(path), "--tracking-uri", "sqlite:////proc/mlflow.db", "--no-progress",
                 "--summary", str(tmp_path / "s.md")]) == 2
    _one_line_error(capsys, "/proc/mlflow.db", "cannot lock")


def test_sqlite_file_of_another_application_is_refused_untouched(tmp_path, capsys):
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as con:
        con.execute("create table notes (id integer primary key, text text)")
        con.execute("insert into notes (text) values ('keep me')")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(SrbenchError, match="another application") as exc:
        tracking.client(f"sqlite:///{db}")
    assert "\n" not in str(exc.value) and "notes" in str(exc.value)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before, "the file is left as it was"


def _fake_mounts(tmp_path: Path, monkeypatch, fstype: str, point: Path) -> None:
    point.mkdir(parents=True, exist_ok=True)  # a mount point exists
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/export {str(point).replace(' ', chr(92) + '040')} "
                      f"{fstype} rw 0 0\n")
    monkeypatch.setattr(store_sharing, "MOUNTS", mounts)


def test_filesystem_of_takes_the_deepest_mount(tmp_path, monkeypatch):
    shared = tmp_path / "sha red"
    _fake_mounts(tmp_path, monkeypatch, "lustre", shared)
    assert store_sharing.filesystem_of(shared / "runs" / "x") == ("lustre", str(shared))
    assert store_sharing.filesystem_of(tmp_path / "sha") == ("ext4", "/")


@pytest.mark.parametrize("fstype", ["nfs4", "beegfs", "fuse.sshfs"])
def test_shard_on_sqlite_on_a_network_file_system_is_refused(fstype, tmp_path, monkeypatch, capsys, benchmark_root):
    shared = tmp_path / "shared"
    _fake_mounts(tmp_path, monkeypatch, fstype, shared)
    path = _experiment(tmp_path, "  - {model: bicubic}\n", "[Set5]")
    db = shared / "mlruns" / "mlflow.db"
    assert main(["benchmark", str(path), "--tracking-uri", f"sqlite:///{db}", "--shard", "1/2", "--no-progress",
                 "--summary", str(tmp_path / "s.md")]) == 2
    _one_line_error(capsys, fstype, "tracking server", "docs/scaling.md")
    assert not db.exists(), "refused before the store is created"


def test_shard_on_sqlite_another_machine_writes_is_refused(tmp_path, store, capsys, benchmark_root):
    client = tracking.client(store)
    eid = tracking.get_or_create_experiment(client, "cl")
    client.create_run(eid, tags={"srbench.kind": "benchmark", hosts.HOST_TAG: "node17",
                                 hosts.HOST_ID_TAG: "another-boot-id/4026531836", hosts.PID_TAG: "1"})
    path = _experiment(tmp_path, "  - {model: bicubic}\n", "[Set5]")
    assert main(["benchmark", str(path), "--shard", "1/2", "--no-progress", "--summary", str(tmp_path / "s.md")]) == 2
    _one_line_error(capsys, "node17", "tracking server")


def test_cells_of_another_machine_in_the_experiment_are_noted(store):
    client = tracking.client(store)
    eid = tracking.get_or_create_experiment(client, "cl")
    assert store_sharing.other_machines(client, eid, "CPU X (8 threads)") is None
    run = client.create_run(eid, tags={"srbench.kind": "cell", "srbench.device_name": "CPU X (8 threads)"})
    client.set_terminated(run.info.run_id, "FINISHED")
    assert store_sharing.other_machines(client, eid, "CPU X (8 threads)") is None
    note = store_sharing.other_machines(client, eid, "CPU Y's (4 threads)")
    assert note.startswith("note: ") and "CPU X (8 threads)" in note and "\n" not in note


# ----------------------------------------------------------------------------------------------------------------
# claims: no clock trusted, one timeout per dead benchmark, containers told apart

class FakeClock:
    """A monotonic clock that only ``sleep`` advances."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def fake_clock(monkeypatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(orphans, "clock", clock)
    monkeypatch.setattr(claims, "sleep", clock.sleep)
    return clock


def test_a_claimant_whose_clock_runs_behind_never_takes_a_held_claim(store, monkeypatch, fake_clock):
    client = tracking.client(store)
    eid = tracking.get_or_create_experiment(client, "claims")
    monkeypatch.setenv("SRBENCH_HOST_ID", "host-a/1")
    a = CellClaims(client, eid, local=False)
    with a.hold("k", wait=False) as held_a:
        assert held_a
        monkeypatch.setenv("SRBENCH_HOST_ID", "host-b/1")
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() - 3600)  # host b's wall clock is an hour behind
        b = CellClaims(client, eid, local=False)
        with b.hold("k", wait=False) as held_b:
            assert not held_b, "a later claim with an older start time must not win a held claim"
        # the race: b looked for live claims before a made its own, and makes its claim after a has listed them
        assert b._try_claim("k") is None, "b's claim, an hour 'older', must not win the claim a holds"
        monkeypatch.setattr(time, "time", real)
    assert [r.info.status for r in client.search_runs([eid])] == [], "both claims are gone"


def test_rerun_waits_one_declared_timeout_for_all_claims_of_a_dead_host(store, monkeypatch, fake_clock):
    client = tracking.client(store)
    eid = tracking.get_or_create_experiment(client, "claims")
    monkeypatch.setenv("SRBENCH_HOST_ID", "dead-host/1")
    parent = client.create_run(eid, tags={"srbench.kind": "benchmark", **hosts.identity_tags(),
                                          orphans.HEARTBEAT_TAG: "7"})
    pid = parent.info.run_id
    cell = client.create_run(eid, tags={"srbench.kind": "cell", "mlflow.parentRunId": pid, **hosts.identity_tags()})
    left = [client.create_run(eid, tags={"srbench.kind": "claim", claims.CLAIM_TAG: f"k{i}", orphans.OWNER_TAG: pid,
                                         orphans.HEARTBEAT_TAG: "3", **hosts.identity_tags()}) for i in range(3)]
    monkeypatch.setenv("SRBENCH_HOST_ID", "rerun-host/1")
    rerun = CellClaims(client, eid, local=False)
    for i in range(3):  # a first pass sees every claim held and defers its cell
        with rerun.hold(f"k{i}", wait=False) as held:
            assert not held
    start = fake_clock.now
    for i in range(3):
        with rerun.hold(f"k{i}", wait=True) as held:
            assert held
    waited = fake_clock.now - start
    assert orphans.STALE_AFTER_S - 3 * claims.POLL_S <= waited <= orphans.STALE_AFTER_S + 1.5 * claims.POLL_S, waited
    statuses = {r.info.run_id: r.info.status for r in client.search_runs([eid])}
    assert statuses[pid] == statuses[cell.info.run_id] == "KILLED", "the dead benchmark's parent and cell too"
    assert {statuses[c.info.run_id] for c in left} == {"KILLED"}


def test_a_live_claim_of_another_host_is_honoured_while_it_beats(store, monkeypatch, fake_clock):
    client = tracking.client(store)
    eid = tracking.get_or_create_experiment(client, "claims")
    monkeypatch.setenv("SRBENCH_HOST_ID", "busy-host/1")
    claim = client.create_run(eid, tags={"srbench.kind": "claim", claims.CLAIM_TAG: "k", orphans.HEARTBEAT_TAG: "0",
                                         **hosts.identity_tags()})
    monkeypatch.setenv("SRBENCH_HOST_ID", "other-host/1")
    waiter = CellClaims(client, eid, local=False)
    for beat in range(1, 2 * int(orphans.STALE_AFTER_S / orphans.HEARTBEAT_S)):
        fake_clock.sleep(orphans.HEARTBEAT_S)
        client.set_tag(claim.info.run_id, orphans.HEARTBEAT_TAG, str(beat))
        with waiter.hold("k", wait=False) as held:
            assert not held, f"taken from a live holder after {beat * orphans.HEARTBEAT_S} s"
    assert client.get_run(claim.info.run_id).info.status == "RUNNING"


def test_runs_of_another_container_with_the_same_host_name_are_not_killed(store, monkeypatch):
    from srbench.track.benchmark import mark_orphans_killed

    client = tracking.client(store)
    eid = tracking.get_or_create_experiment(client, "containers")
    gone = subprocess.Popen(["true"])
    gone.wait()
    monkeypatch.setenv("SRBENCH_HOST_ID", f"{hosts.kernel_id()}/other-pid-namespace")
    theirs = client.create_run(eid, tags={"srbench.kind": "cell", **hosts.identity_tags(),
                                          hosts.PID_TAG: str(gone.pid)})  # a pid that means nothing here
    monkeypatch.delenv("SRBENCH_HOST_ID")
    mine = client.create_run(eid, tags={"srbench.kind": "cell", **hosts.identity_tags(),
                                        hosts.PID_TAG: str(gone.pid)})
    assert mark_orphans_killed(client, eid) == 1
    assert client.get_run(theirs.info.run_id).info.status == "RUNNING"
    assert client.get_run(mine.info.run_id).info.status == "KILLED"


# ----------------------------------------------------------------------------------------------------------------
# shards keep together what shares a pass or a runtime choice

def test_shards_keep_shared_passes_and_runtime_choices_together(benchmark_root):
    """On the default benchmark, for N = 2..5: cells that run one forward pass (same network, scale and the BN mode
    it runs in: a network without BatchNorm layers runs both modes as one) or share auto's choice (same weights and
    scale) are on one shard. BatchNorm presence is read off the built architecture here, independently."""
    import torch

    from srbench.models import create_model
    from srbench.track.experiment import load_experiment
    from srbench.track.benchmark import plan
    from srbench.track.shard import shard_cells

    cells, _ = plan(load_experiment(REPO / "experiments" / "benchmark.yaml"))
    has_bn = {}
    for cell in cells:
        if cell.entry.model not in has_bn:
            net = create_model(cell.entry.model, group=cell.entry.group or cell.weights.build.get("group"))
            has_bn[cell.entry.model] = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
    assert has_bn["carn_m"] is False and has_bn["ecdn"] is True
    for n in range(2, 6):
        shard_of = {id(c): k for k in range(1, n + 1) for c in shard_cells(cells, k, n)}
        together: dict[tuple, set[int]] = {}
        for cell in cells:
            runs_in = cell.bn_mode if has_bn[cell.entry.model] else "eval"
            for what in (("pass", cell.network, runs_in, cell.scale), ("choice", cell.weights.sha256, cell.scale)):
                together.setdefault(what, set()).add(shard_of[id(cell)])
        split = {what: shards for what, shards in together.items() if len(shards) > 1}
        assert not split, f"N={n}: split over shards: {list(split)[:2]}"
        assert len(set(shard_of.values())) == n, "every shard has work"


# ----------------------------------------------------------------------------------------------------------------
# simulated hosts: processes with their own identity and runtime cache, no shared lock, one store

_HOST = """
import os, sys, time
from pathlib import Path
import srbench.cli, srbench.track.cell_log as cell_log, srbench.runtime_choice.use as rt, mlflow.tracking
import srbench.runtime_choice.cells as runtime_cells
from srbench.track import claims, orphans
claims.local_lock_dir = lambda client: None  # no lock shared with the other hosts: claims are runs, as on a server
orphans.HEARTBEAT_S, orphans.STALE_AFTER_S, claims.POLL_S = 0.5, float(os.environ["STALE_AFTER_S"]), 0.2
log = Path(os.environ["HOST_LOG"])
real_select, real_measure = runtime_cells.select_runtime_apart, cell_log.measure_cell
def select(*args, **kwargs):
    with log.open("a") as fh:
        fh.write("probe\\n")
    return real_select(*args, **kwargs)
def measure(*args, **kwargs):
    with log.open("a") as fh:
        fh.write("cell\\n")
    if log.read_text().count("cell") == int(os.environ.get("DIE_IN_CELL", "0")):
        os.kill(os.getpid(), 9)
    time.sleep(float(os.environ.get("CELL_DELAY", "0")))
    return real_measure(*args, **kwargs)
runtime_cells.select_runtime_apart, cell_log.measure_cell = select, measure  # the probe runs apart on CPU
rt.default_candidates = lambda device: ("eager",)  # auto's probe without ONNX exports: seconds, not a minute
if os.environ.get("CLOCK_SKEW_S"):  # this host's wall clock is off
    real_time, skew = time.time, float(os.environ["CLOCK_SKEW_S"])
    time.time = lambda: real_time() + skew
go = Path(os.environ["GO"])
Path(os.environ["READY"]).touch()
while not go.exists():
    time.sleep(0.01)
sys.exit(srbench.cli.main(sys.argv[1:]))
"""


def _hosts(tmp_path: Path, store: str, jobs: dict[str, list[str]], stale_after_s: float = 5.0,
           env: dict[str, dict] | None = None, timeout: float = 240) -> dict[str, tuple[int, str, list[str]]]:
    """Run one ``srbench benchmark`` per simulated host at once; host -> (exit status, stdout, its log lines)."""
    go = tmp_path / "go"
    go.unlink(missing_ok=True)
    procs = {}
    for host, args in jobs.items():
        folder = tmp_path / host
        folder.mkdir(exist_ok=True)
        for stale in ("ready", "log"):
            (folder / stale).unlink(missing_ok=True)
        host_env = {**os.environ, "SRBENCH_HOST_ID": f"{host}-boot/1", "SRBENCH_CACHE": str(folder / "cache"),
                    "STALE_AFTER_S": str(stale_after_s), "HOST_LOG": str(folder / "log"), "GO": str(go),
                    "READY": str(folder / "ready"), "MLFLOW_TRACKING_URI": store, "OMP_NUM_THREADS": "1",
                    **(env or {}).get(host, {})}
        procs[host] = subprocess.Popen([sys.executable, "-c", _HOST, "benchmark", *args, "--no-progress",
                                        "--summary", str(folder / "summary.md")], cwd=REPO, env=host_env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    while not all((tmp_path / h / "ready").exists() for h in jobs):
        assert time.time() < deadline and all(p.poll() is None for p in procs.values()), "a host did not start"
        time.sleep(0.05)
    go.touch()
    done = {}
    for host, proc in procs.items():
        out, err = proc.communicate(timeout=timeout)
        log = tmp_path / host / "log"
        done[host] = (proc.returncode, out + err, log.read_text().split() if log.exists() else [])
    return done


def _db(uri: str) -> Path:
    return Path(uri[len("sqlite:///"):])


def test_two_hosts_sharding_and_rerunning_one_store_lose_and_duplicate_nothing(tmp_path, store, tiny_dataset):
    """Host a runs shard 1/2 while host b, whose wall clock is an hour behind, runs the whole experiment at once
    (a rerun started too early): every cell is computed exactly once, and nothing is left RUNNING."""
    path = _experiment(tmp_path, "  - {model: bicubic}\n  - {model: bicubic, protocol: paper_gray}\n",
                       f"[{tiny_dataset}]", scales="[2, 3]")
    done = _hosts(tmp_path, store, {"a": [str(path), "--shard", "1/2"], "b": [str(path)]},
                  env={"a": {"CELL_DELAY": "1"}, "b": {"CLOCK_SKEW_S": "-3600", "CELL_DELAY": "0.3"}})
    for host, (code, out, _) in done.items():
        assert code == 0, (host, out[-2000:])
    runs = _runs(_db(store))
    cells = [key for status, kind, key in runs if kind == "cell"]
    assert len(cells) == 4 and len(set(cells)) == 4, runs
    assert {status for status, _, _ in runs} == {"FINISHED"}, runs
    computed = sum(log.count("cell") for _, _, log in done.values())
    assert computed == 4, f"{computed} cell computations for 4 cells"


@pytest.mark.slow
def test_shard_killed_mid_cell_on_one_host_is_finished_by_a_rerun_on_another(tmp_path, store, tiny_dataset):
    """Host a dies (kill -9) in its second cell, after auto chose a runtime and the first cell finished; host b, with
    an empty runtime cache, reruns the shard: it takes a's choice from the store (no probe), so it reuses a's
    finished cell, waits out a's claim for one declared timeout, marks a's runs KILLED and finishes the rest."""
    path = _experiment(tmp_path, "  - {model: carn_m, weights: none}\n"
                                 "  - {model: carn_m, weights: none, protocol: paper_gray}\n", f"[{tiny_dataset}]")
    args = [str(path), "--shard", "1/1"]
    a = _hosts(tmp_path, store, {"a": args}, env={"a": {"DIE_IN_CELL": "2"}})["a"]
    assert a[0] == -9 and a[2] == ["probe", "cell", "cell"], a
    stale_after_s = 2.0
    start = time.monotonic()
    code, out, log = _hosts(tmp_path, store, {"b": args}, stale_after_s=stale_after_s)["b"]
    took = time.monotonic() - start
    assert code == 0, out[-2000:]
    assert log == ["cell"], "host b computed the unfinished cell only, without probing a runtime again"
    assert "1 cell(s) computed, 1 reused" in out
    runs = _runs(_db(store))
    assert sorted(s for s, kind, _ in runs if kind == "cell") == ["FINISHED", "FINISHED"], runs
    assert sorted(s for s, kind, _ in runs if kind == "benchmark") == ["FINISHED", "KILLED"], runs
    assert not [r for r in runs if r[1] == "claim" and r[0] == "RUNNING"], runs
    assert took >= stale_after_s, "a's claim was honoured until it went stale"
    assert took < stale_after_s + 60, f"host b took {took:.0f} s"
