"""Reading ahead: items in order, errors re-raised in the caller, bounded look-ahead, the thread stopped on leaving."""
from __future__ import annotations

import itertools
import sys
import threading
from contextlib import nullcontext

import pytest

from service.services.prefetch import prefetched


def test_every_item_arrives_in_order():
    with prefetched(iter(range(100)), depth=2) as items:
        assert list(items) == list(range(100))


def test_the_next_item_is_read_while_the_caller_works_on_this_one():
    second_read = threading.Event()

    def source():
        yield 1
        second_read.set()
        yield 2

    with prefetched(source()) as items:
        assert next(items) == 1
        assert second_read.wait(timeout=10)  # without reading ahead nothing asks for item 2 until we do
        assert list(items) == [2]


def test_an_error_while_reading_reaches_the_caller_after_the_items_before_it():
    def source():
        yield "page 1"
        raise ConnectionError("amoCRM went away")

    seen = []
    with pytest.raises(ConnectionError, match="went away"):
        with prefetched(source()) as items:
            for item in items:
                seen.append(item)
    assert seen == ["page 1"]


@pytest.mark.parametrize("leave", ["break", "error"])
def test_leaving_early_stops_the_reader_after_a_bounded_look_ahead(leave):
    pulled = []

    def endless():
        for n in itertools.count():
            pulled.append(n)
            yield n

    before, switch = set(threading.enumerate()), sys.getswitchinterval()
    with pytest.raises(RuntimeError) if leave == "error" else nullcontext():
        with prefetched(endless(), depth=1) as items:
            for n in items:
                if n == 2:
                    if leave == "error":
                        raise RuntimeError("apply failed")
                    break
    assert set(threading.enumerate()) <= before  # the reader is gone once the block is left
    assert sys.getswitchinterval() == switch  # and the interpreter hands the GIL over as before
    assert len(pulled) <= 3 + 1 + 1  # what the caller took, the queued one, the one the reader held

