"""An account file's big sections rendered by two processes: `python -m service.sandbox generate` on large writes
1.3 GB of JSON text, about half of its CPU; a forked child renders every other block while this process renders
the rest and writes them all in order (byte for byte what one process writes: tests/sandbox/test_golden.py).

Only for a process without other threads (the CLI): a fork copies just the calling thread."""
from __future__ import annotations

import os

BLOCK = 20_000  # items per block: a block of events is about 15 MB of text


def rendered_blocks(render, items: list, forked: bool):
    """Encoded text of the items, BLOCK at a time, in order; render(items) gives texts to join with commas.
    With forked, a child process renders the odd blocks and hands them over a pipe."""
    count = -(-len(items) // BLOCK)

    def block(k: int) -> bytes:
        return ",".join(render(items[k * BLOCK:(k + 1) * BLOCK])).encode()

    if not forked or count < 2:
        for k in range(count):
            yield block(k)
        return
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(block, range(1, count, 2), write_fd)
    os.close(write_fd)
    with open(read_fd, "rb") as pipe:
        try:
            for k in range(count):
                yield block(k) if k % 2 == 0 else _receive(pipe)
        finally:
            pipe.close()  # a child still writing gets EPIPE and exits
            _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"the rendering child exited with status {status}")


def _child(block, indexes, write_fd: int) -> None:
    """Render the given blocks into the pipe, length first, then leave without any interpreter teardown."""
    status = 1
    try:
        with open(write_fd, "wb") as pipe:
            for k in indexes:
                data = block(k)
                pipe.write(len(data).to_bytes(8, "little"))
                pipe.write(data)
        status = 0
    finally:
        os._exit(status)


def _receive(pipe) -> bytes:
    """One block from the child (a short read means it died)."""
    head = pipe.read(8)
    size = int.from_bytes(head, "little") if len(head) == 8 else -1
    data = pipe.read(size) if size >= 0 else b""
    if size < 0 or len(data) != size:
        raise RuntimeError("the rendering child stopped before its block")
    return data
