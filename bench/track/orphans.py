"""Runs whose process died: recognised without trusting anyone's clock, and marked KILLED with all they left.

A benchmark killed with ``kill -9`` (or on a node that lost power) cannot close its runs: its parent run, the cell run
it was measuring and its claim (:mod:`srbench.track.claims`) stay RUNNING. Readers ignore them (FINISHED runs only),
but the MLflow UI would show them running forever and a claim would block its cell.

- Same host identity (:mod:`srbench.track.hosts`): the process is gone when its pid is; decided at once.
- Another host identity (another machine or container): each live benchmark renews a counter tag
  (``srbench.heartbeat``) on its parent run and on each claim it holds every :data:`HEARTBEAT_S` seconds. A
  :class:`Watch` notes when it first saw each value on its own monotonic clock; a run whose counter has not changed
  for :data:`STALE_AFTER_S` seconds of that clock is dead. No wall clock of any host is compared with another's.

:func:`kill_owner` marks a dead benchmark's parent run, its RUNNING cell runs and its claims KILLED at once, so a
rerun waits for one timeout per dead process, not per cell it left behind.
"""

from __future__ import annotations

import contextlib
import threading
import time

from srbench.track import hosts, tags as T
from srbench.track.run_writer import KILLED, RunWriter, call

HEARTBEAT_S = 15.0
#: A run of another host whose heartbeat has not changed for this long (observer's clock) is dead; the longest a
#: rerun waits on the claims of a benchmark that died on another machine.
STALE_AFTER_S = 120.0
HEARTBEAT_TAG = T.HEARTBEAT
OWNER_TAG = T.OWNER  # on a claim: the parent run of the benchmark that holds it

clock = time.monotonic  # the observer's clock (tests substitute a fake one)


class Watch:
    """Heartbeat observations of one process: run id -> (counter seen, when it was first seen)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, float]] = {}

    def dead(self, run) -> bool:
        """Whether ``run``'s process is gone (same host identity) or its heartbeat stopped (another one)."""
        tags = run.data.tags
        if hosts.process_gone(tags):
            return True
        if tags.get(hosts.HOST_ID_TAG) == hosts.host_id():
            return False  # its process lives
        beat, now = tags.get(HEARTBEAT_TAG, ""), clock()
        seen = self._seen.get(run.info.run_id)
        if seen is None or seen[0] != beat:
            self._seen[run.info.run_id] = seen = (beat, now)
        return now - seen[1] >= STALE_AFTER_S


def _running(client, experiment_id: str, extra: str = ""):
    query = "attributes.status = 'RUNNING'" + (f" and {extra}" if extra else "")
    return call(client, "search_runs", [experiment_id], filter_string=query)


def kill_owner(client, experiment_id: str, owner_id: str) -> int:
    """Mark KILLED the RUNNING parent run ``owner_id``, its RUNNING cell runs and its claims; returns how many."""
    runs = _running(client, experiment_id, f"tags.`mlflow.parentRunId` = '{owner_id}'")
    runs += _running(client, experiment_id, f"tags.`{OWNER_TAG}` = '{owner_id}'")
    ids = [r.info.run_id for r in runs]
    with contextlib.suppress(Exception):  # the parent may be gone already (deleted), which is fine
        if call(client, "get_run", owner_id).info.status == "RUNNING":
            ids.append(owner_id)
    for run_id in ids:
        RunWriter(client, run_id).end(KILLED)
    return len(ids)


def reap(client, experiment_id: str, watch: Watch | None = None) -> int:
    """Mark KILLED what dead benchmarks left RUNNING: every run whose process on this host identity is gone, and
    everything of a benchmark whose parent's heartbeat ``watch`` has seen stopped. Returns how many runs."""
    watch = watch or Watch()
    killed = 0
    for run in _running(client, experiment_id):
        tags = run.data.tags
        if tags.get(T.KIND) == "benchmark" and watch.dead(run):  # never this process's own: its pid lives
            killed += kill_owner(client, experiment_id, run.info.run_id)
        elif hosts.process_gone(tags):
            RunWriter(client, run.info.run_id).end(KILLED)
            killed += 1
    return killed


class Heartbeat:
    """Renews a run's heartbeat counter every :data:`HEARTBEAT_S` seconds from a daemon thread, between
    :meth:`start` and :meth:`stop` (or for a ``with`` block)."""

    def __init__(self, client, run_id: str) -> None:
        self.client, self.run_id = client, run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat {run_id[:8]}")

    def _beat(self) -> None:
        n = 0
        while not self._stop.wait(HEARTBEAT_S):
            n += 1
            with contextlib.suppress(Exception):  # a missed beat only brings staleness closer
                self.client.set_tag(self.run_id, HEARTBEAT_TAG, str(n))

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
