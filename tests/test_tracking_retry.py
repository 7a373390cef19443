"""``tracking.retrying``: which MLflow write failures are tried again, and how often (no store needed)."""

from __future__ import annotations

import pytest

from srbench.track import tracking


class _Flaky:
    """Fails with ``message`` the first ``failures`` calls, then returns "ok"; counts the calls."""

    def __init__(self, message: str, failures: int) -> None:
        self.message, self.failures, self.calls = message, failures, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(self.message)
        return "ok"


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch):
    monkeypatch.setattr(tracking.time, "sleep", lambda s: None)


def test_a_lost_insert_race_is_tried_again():
    """Two processes logging the same dataset at once: MLflow's check-then-insert makes one fail on the UNIQUE
    constraint (seen in CI: test_two_processes_share_one_sqlite_store); the next try links the existing row."""
    fn = _Flaky("(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, datasets.name", 1)
    assert tracking.retrying(fn)() == "ok" and fn.calls == 2


def test_a_persistent_unique_conflict_is_raised_after_a_few_tries():
    fn = _Flaky("UNIQUE constraint failed: experiments.name", 100)
    with pytest.raises(RuntimeError, match="UNIQUE"):
        tracking.retrying(fn)()
    assert fn.calls == tracking.UNIQUE_RACE_TRIES == 3


def test_a_locked_store_gets_twelve_tries_and_other_errors_none():
    locked = _Flaky("(sqlite3.OperationalError) database is locked", 11)
    assert tracking.retrying(locked)() == "ok" and locked.calls == 12
    always_locked = _Flaky("database is locked", 100)
    with pytest.raises(RuntimeError):
        tracking.retrying(always_locked)()
    assert always_locked.calls == 12
    other = _Flaky("INVALID_PARAMETER_VALUE: bad key", 100)
    with pytest.raises(RuntimeError, match="INVALID"):
        tracking.retrying(other)()
    assert other.calls == 1
