"""Cell claims: benchmarks running at once on one store compute every cell exactly once.

Before computing a cell a benchmark claims its key; whoever does not get the claim moves on to other cells and comes
back later, waits for the claim to be released, and then finds the holder's FINISHED run and reuses it (the caller
re-checks for a FINISHED run after every acquisition).

- A local SQLite store: an OS file lock (``fcntl.flock``) on ``<store folder>/locks/<cell key>.lock``, held while
  the cell is computed. The kernel releases it when its process ends, however it ends (``kill -9`` included), so a
  claim is never stale. The lock files are empty and stay (removing one could race with a process taking it).
- Any other store (a tracking server, a database server): a claim run in the experiment, tagged
  ``srbench.kind=claim`` and ``srbench.claim_key=<cell key>`` with the claimant's host and pid, deleted on release.
  A claimant creates its claim, then lists the key's RUNNING claims: the oldest (start time, then run id) holds the
  cell, the others withdraw theirs. A claim is stale, and is marked KILLED, when its process on this host is gone, or
  when its heartbeat (tag ``srbench.heartbeat``, renewed every :data:`HEARTBEAT_S` seconds while held) has not
  changed for :data:`STALE_AFTER_S` seconds of the waiter's own clock (a claimant on another host that died).
  Claim runs are never FINISHED, so readers (FINISHED runs of ``srbench.kind=cell`` only) never see them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path
from collections.abc import Iterator

from srbench.track import tracking

HEARTBEAT_S = 30.0
STALE_AFTER_S = 300.0
POLL_S = 2.0


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def local_lock_dir(client) -> Path | None:
    """``<store folder>/locks`` for a local SQLite store, None for any other store."""
    uri = client.tracking_uri
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///"):]).parent / "locks"


class CellClaims:
    """Exclusive claims on cell keys in one experiment: :meth:`hold` is a context manager yielding whether the
    claim is held (with ``wait=True``, it waits until it is)."""

    def __init__(self, client, experiment_id: str, *, local: bool | None = None) -> None:
        self.client = client
        self.experiment_id = experiment_id
        lock_dir = local_lock_dir(client)
        self.lock_dir = lock_dir if local is not False else None
        if local and lock_dir is None:
            raise ValueError("local claims need a local SQLite store")
        self._seen: dict[str, tuple[str, float]] = {}  # claim run id -> (heartbeat seen, when first seen)

    @contextlib.contextmanager
    def hold(self, key: str, *, wait: bool) -> Iterator[bool]:
        if self.lock_dir is not None:
            with self._hold_lock(key, wait) as held:
                yield held
        else:
            with self._hold_run(key, wait) as held:
                yield held

    # -- local store: a file lock per key ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _hold_lock(self, key: str, wait: bool) -> Iterator[bool]:
        import fcntl

        self.lock_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_dir / f"{key}.lock", "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- server store: a claim run per key, the oldest live one wins ---------------------------------------------

    @contextlib.contextmanager
    def _hold_run(self, key: str, wait: bool) -> Iterator[bool]:
        while True:
            run_id = None if self._live_claims(key) else self._try_claim(key)
            if run_id is not None:
                break
            if not wait:
                yield False
                return
            time.sleep(POLL_S)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run_id, stop), daemon=True)
        beat.start()
        try:
            yield True
        finally:
            stop.set()
            with contextlib.suppress(Exception):  # an unreleased claim goes stale on its own
                tracking.retrying(self.client.delete_run)(run_id)

    def _live_claims(self, key: str, mine: str | None = None) -> list:
        """The RUNNING, not stale claim runs of ``key`` other than ``mine``."""
        claims = tracking.retrying(self.client.search_runs)(
            [self.experiment_id],
            filter_string=f"tags.`srbench.claim_key` = '{key}' and attributes.status = 'RUNNING'")
        return [r for r in claims if r.info.run_id != mine and not self._stale(r)]

    def _try_claim(self, key: str) -> str | None:
        """Create a claim run for ``key``; keep it and return its id if it is the oldest live claim, else withdraw."""
        mine = tracking.retrying(self.client.create_run)(
            self.experiment_id, run_name=f"claim {key}",
            tags={"srbench.kind": "claim", "srbench.claim_key": key, "srbench.host": socket.gethostname(),
                  "srbench.pid": str(os.getpid()), "srbench.heartbeat": "0"})
        live = [mine.info] + [r.info for r in self._live_claims(key, mine.info.run_id)]
        winner = min(live, key=lambda info: (info.start_time, info.run_id))
        if winner.run_id == mine.info.run_id:
            return winner.run_id
        tracking.retrying(self.client.delete_run)(mine.info.run_id)
        return None

    def _stale(self, run) -> bool:
        """A claim whose process on this host is gone, or whose heartbeat stopped (then it is marked KILLED)."""
        tags, run_id = run.data.tags, run.info.run_id
        if tags.get("srbench.host") == socket.gethostname():
            stale = not pid_alive(int(tags.get("srbench.pid", "0") or 0))
        else:
            beat, now = tags.get("srbench.heartbeat", ""), time.monotonic()
            seen = self._seen.get(run_id)
            if seen is None or seen[0] != beat:
                self._seen[run_id] = (beat, now)
            stale = now - self._seen[run_id][1] > STALE_AFTER_S
        if stale:
            with contextlib.suppress(Exception):
                tracking.retrying(self.client.set_terminated)(run_id, "KILLED")
        return stale

    def _heartbeat(self, run_id: str, stop: threading.Event) -> None:
        n = 0
        while not stop.wait(HEARTBEAT_S):
            n += 1
            with contextlib.suppress(Exception):  # a missed beat only brings staleness closer
                self.client.set_tag(run_id, "srbench.heartbeat", str(n))
