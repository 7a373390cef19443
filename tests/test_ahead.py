"""srbench.core.ahead: an iterator drawn by a background thread gives the plain iterator's items, in order, raises
its errors where it would have, and stops its thread when the consumer leaves early."""

from __future__ import annotations

import threading
import time

import pytest

from srbench.core.ahead import ahead


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_items_in_order(depth):
    with ahead(iter(range(50)), depth) as it:
        assert list(it) == list(range(50))


def test_producer_runs_ahead_on_another_thread():
    """While the consumer holds the first item, the thread has already drawn the next one."""
    drawn, threads = [], set()

    def items():
        for i in range(3):
            drawn.append(i)
            threads.add(threading.get_ident())
            yield i

    with ahead(items(), 1) as it:
        assert next(it) == 0
        deadline = time.monotonic() + 5
        while len(drawn) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert drawn[:2] == [0, 1]
        assert list(it) == [1, 2]
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_producer_error_raised_where_the_plain_iterator_raises():
    def items():
        yield 1
        yield 2
        raise ValueError("bad image 3")

    got = []
    with pytest.raises(ValueError, match="bad image 3"), ahead(items(), 2) as it:
        for x in it:
            got.append(x)
    assert got == [1, 2]


def test_leaving_early_stops_the_thread():
    """A consumer that stops (break or its own error) leaves no thread drawing items behind."""
    drawn = []

    def endless():
        i = 0
        while True:
            drawn.append(i)
            yield i
            i += 1

    before = threading.active_count()
    with pytest.raises(RuntimeError, match="consumer"), ahead(endless(), 2) as it:
        for x in it:
            if x == 3:
                raise RuntimeError("consumer failed")
    assert threading.active_count() == before
    n = len(drawn)
    time.sleep(0.1)
    assert len(drawn) == n <= 3 + 2 + 2  # at most the queue's depth and the item in hand past the last one read
