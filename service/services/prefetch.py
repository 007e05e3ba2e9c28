"""Read an iterator ahead in a background thread, so waiting on the network overlaps the caller's own work."""
from __future__ import annotations

import queue
import sys
import threading
from contextlib import contextmanager
from typing import Iterable, Iterator

_ITEM, _ERROR, _END = range(3)
_POLL_SECONDS = 0.05  # how soon a reader blocked on a full queue notices the caller has stopped
# The reader mostly waits on sockets, and each return from one needs the GIL back: dozens per page (Redis calls, the
# body's chunks). CPython lets a busy thread (the caller applying a page) keep the GIL up to its switch interval,
# 5 ms, per hand-off, which measured as 10-25 ms added to every request under load; 0.5 ms hands it back promptly.
_SWITCH_SECONDS = 0.0005


@contextmanager
def prefetched(source: Iterable, depth: int = 1) -> Iterator[Iterator]:
    """The items of `source`, read up to `depth` ahead by one thread; its errors re-raise in the caller, and leaving
    the block (done, break or error) stops the thread and waits for it (at most its current item)."""
    ahead, switch = _Ahead(source, depth), sys.getswitchinterval()
    sys.setswitchinterval(min(switch, _SWITCH_SECONDS))
    ahead.thread.start()
    try:
        yield ahead.items()
    finally:
        ahead.stop.set()
        ahead.thread.join()
        sys.setswitchinterval(switch)


class _Ahead:
    """The reading thread and the bounded queue between it and the caller."""

    def __init__(self, source: Iterable, depth: int):
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(source,), name="prefetch", daemon=True)

    def _read(self, source: Iterable) -> None:
        """The thread: queue each item, then the end or the error that stopped it."""
        try:
            for item in source:
                if not self._put(_ITEM, item):
                    return
        except BaseException as exc:  # handed to the caller, who re-raises it
            self._put(_ERROR, exc)
            return
        self._put(_END, None)

    def _put(self, kind: int, value) -> bool:
        """Queue one entry unless the caller has stopped; False when it has."""
        while not self.stop.is_set():
            try:
                self.queue.put((kind, value), timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def items(self) -> Iterator:
        """The caller's side: each item in order; the reader's error raised here."""
        while True:
            kind, value = self.queue.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value
