"""Cell claims: benchmarks running at once on one store compute every cell exactly once.

Before computing a cell a benchmark claims its key; whoever does not get the claim moves on to other cells and comes
back later, waits for the claim to be released, and then finds the holder's FINISHED run and reuses it (the caller
re-checks for a FINISHED run after every acquisition).

- A local SQLite store: an OS file lock (``fcntl.flock``) on ``<store folder>/locks/<cell key>.lock``, held while
  the cell is computed. The kernel releases it when its process ends, however it ends (``kill -9`` included), so a
  claim is never stale. The lock files are empty and stay (removing one could race with a process taking it). Such
  a lock binds only processes of one kernel: a SQLite store written from several machines is refused
  (:func:`srbench.track.stores.check_shard_store`).
- Any other store (a tracking server, a database server): a claim run in the experiment, tagged
  ``srbench.kind=claim``, ``srbench.claim_key=<cell key>``, the claimant's host identity and pid, and its owner (the
  benchmark's parent run), deleted on release. A claimant creates its claim, then lists the key's live claims: if
  any other exists it withdraws its own (and, when waiting, tries again after a random pause). No clock and no order
  is trusted: of two claimants that overlap, the later to list sees the other, so at most one holds; both may
  withdraw, and the random pauses part them. A claim is stale when its process is known gone or its heartbeat
  stopped (:class:`srbench.track.orphans.Watch`); the dead benchmark's runs are then all marked KILLED
  (:func:`srbench.track.orphans.kill_owner`). Claim runs are never FINISHED, so readers never see them.
"""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path
from collections.abc import Iterator

from srbench.track import hosts, orphans, tags as T
from srbench.track.run_writer import KILLED, RunWriter, call

POLL_S = 2.0
CLAIM_TAG = T.CLAIM_KEY

sleep = time.sleep  # tests substitute a fake clock's sleep


def local_lock_dir(client) -> Path | None:
    """``<store folder>/locks`` for a local SQLite store, None for any other store."""
    uri = client.tracking_uri
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///"):]).parent / "locks"


class CellClaims:
    """Exclusive claims on cell keys in one experiment: :meth:`hold` is a context manager yielding whether the
    claim is held (with ``wait=True``, it waits until it is). ``owner``: this benchmark's parent run."""

    def __init__(self, client, experiment_id: str, *, local: bool | None = None, owner: str | None = None,
                 watch: orphans.Watch | None = None) -> None:
        self.client = client
        self.experiment_id = experiment_id
        lock_dir = local_lock_dir(client)
        self.lock_dir = lock_dir if local is not False else None
        if local and lock_dir is None:
            raise ValueError("local claims need a local SQLite store")
        self.owner = owner
        self.watch = watch or orphans.Watch()

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

    # -- server store: a claim run per key, held only by a claimant that sees no other -------------------------

    @contextlib.contextmanager
    def _hold_run(self, key: str, wait: bool) -> Iterator[bool]:
        while True:
            run_id = None if self._live_claims(key) else self._try_claim(key)
            if run_id is not None:
                break
            if not wait:
                yield False
                return
            sleep(POLL_S * (0.5 + random.random()))
        try:
            with orphans.Heartbeat(self.client, run_id):
                yield True
        finally:
            with contextlib.suppress(Exception):  # an unreleased claim goes stale on its own
                call(self.client, "delete_run", run_id)

    def _live_claims(self, key: str, mine: str | None = None) -> list:
        """The RUNNING claim runs of ``key`` other than ``mine`` whose holder is not dead."""
        claims = call(self.client, "search_runs", [self.experiment_id],
                      filter_string=f"tags.`{CLAIM_TAG}` = '{key}' and attributes.status = 'RUNNING'")
        return [r for r in claims if r.info.run_id != mine and not self._stale(r)]

    def _try_claim(self, key: str) -> str | None:
        """Create a claim run for ``key``; keep it and return its id if no other live claim exists, else withdraw."""
        tags = {T.KIND: "claim", CLAIM_TAG: key, orphans.HEARTBEAT_TAG: "0", **hosts.identity_tags()}
        if self.owner:
            tags[orphans.OWNER_TAG] = self.owner
        mine = call(self.client, "create_run", self.experiment_id, run_name=f"claim {key}", tags=tags)
        if not self._live_claims(key, mine.info.run_id):
            return mine.info.run_id
        call(self.client, "delete_run", mine.info.run_id)
        return None

    def _stale(self, run) -> bool:
        """A claim whose holder is dead; it is marked KILLED, with everything its benchmark left RUNNING."""
        if not self.watch.dead(run):
            return False
        with contextlib.suppress(Exception):
            RunWriter(self.client, run.info.run_id).end(KILLED)
            owner = run.data.tags.get(orphans.OWNER_TAG)
            if owner and owner != self.owner:
                orphans.kill_owner(self.client, self.experiment_id, owner)
        return True
