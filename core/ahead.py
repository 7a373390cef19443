"""An iterator drawn ahead by a background thread, so that producing the next items overlaps consuming this one.

``srbench explain`` chains two: one thread reads the images' LR inputs, another runs their forward passes, and the
main thread scores each output as soon as its pass is done, so on a two-core machine the passes and the scoring
overlap instead of taking turns. Order, values and errors are those of the plain iterator; only the timing changes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Raised:
    """An error of the producer, carried to the consumer, which raises it where the plain iterator would have."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


@contextmanager
def ahead(items: Iterable[T], depth: int = 1) -> Iterator[Iterator[T]]:
    """``with ahead(items, depth) as it: for x in it: ...``: the items of ``items``, in order, drawn by a thread
    that keeps up to ``depth`` of them ready (``depth`` 0: drawn on demand, no thread). Leaving the block early (a
    ``break``, an error of the consumer) stops the thread after the item it is drawing; an error of the producer is
    raised by the ``next()`` that would have returned that item."""
    if depth <= 0:
        yield iter(items)
        return
    stop = threading.Event()
    ready: queue.Queue = queue.Queue(maxsize=depth)

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            hand_over(_Raised(exc))
            return
        hand_over(_DONE)

    def consume() -> Iterator[T]:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item

    thread = threading.Thread(target=produce, name="srbench-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue, then wait for it
            try:
                ready.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.05)
