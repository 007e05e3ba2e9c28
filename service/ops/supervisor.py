"""The children of `make run`, stopped in order by one Ctrl-C, with nothing left behind."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here: the child must not load anything
except (OSError, AttributeError):  # not Linux
    _prctl = None


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when `make run` itself dies (even by SIGKILL)."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Supervisor:
    """Starts each child in a session of its own, so a terminal's Ctrl-C reaches only `make run`, which then stops
    them newest first (the web and workers before the sandbox, Redis last) and sweeps up any orphan."""

    def __init__(self, stop_timeout: float = 30.0):
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stop_timeout = stop_timeout
        if _prctl is not None:  # orphans (e.g. an RQ work horse whose worker was killed) are re-parented to us
            _prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def spawn(self, name: str, args: list[str], **options) -> subprocess.Popen:
        """Start a child in its own session."""
        process = subprocess.Popen(args, start_new_session=True, preexec_fn=_die_with_parent, **options)
        self.children.append((name, process))
        return process

    def adopt(self, name: str, process: subprocess.Popen) -> None:
        """Stop a child started elsewhere along with ours."""
        self.children.append((name, process))

    def alive(self) -> bool:
        """True while every child runs."""
        return all(process.poll() is None for _, process in self.children)

    def stop_all(self) -> None:
        """SIGTERM each child (newest first) and wait, SIGKILL what outlives the timeout; then let what it left
        behind (a shell's child still shutting down gracefully, a work horse) finish, or end it, before the next."""
        while self.children:
            _, process = self.children.pop()
            _stop(process, self.stop_timeout)
            sweep_orphans(grace=self.stop_timeout, keep={p.pid for _, p in self.children})


def _stop(process: subprocess.Popen, timeout: float) -> None:
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # the child leads its own session: its group is its pid
    except ProcessLookupError:
        pass


def sweep_orphans(grace: float = 5.0, keep: set[int] = frozenset()) -> list[int]:
    """Wait up to `grace` for processes re-parented to us to exit (a second SIGTERM would make an RQ worker cut its
    job short), then SIGTERM, then SIGKILL what remains; returns the pids that had to be signalled."""
    pids = _orphans(keep)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = _orphans(keep)
    signalled = list(pids)
    for pid in pids:
        _kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = _orphans(keep)
    for pid in pids:
        _kill(pid, signal.SIGKILL)
    _reap()
    return signalled


def _orphans(keep) -> list[int]:
    _reap()
    return [pid for pid in children_of(os.getpid()) if pid not in keep]


def children_of(parent: int) -> list[int]:
    """Living child pids of `parent`, from /proc (empty where there is no /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == parent and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _reap() -> None:
    """Collect exited children so they do not linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# --- issue 17: `make run` restarts a process that dies (honcho alone would stop everything)
KEEP_PAUSE_MAX = 30.0  # seconds between restarts of a process that keeps dying


def keep_alive(command: list[str], sleep=time.sleep) -> int:
    """Run `python -m service <command>` and start it again whenever it dies unasked (as platforms' process managers
    and systemd's Restart=always do in production). SIGTERM and SIGINT are passed on; after one, its exit is ours."""
    import sys

    stopping, child, pause = [], None, 1.0

    def forward(signum, _frame):
        stopping.append(signum)
        if child is not None and child.poll() is None:
            child.send_signal(signum)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    while True:
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "service", *command])
        code = child.wait()
        if stopping:
            return code
        pause = 1.0 if time.monotonic() - started > 60 else min(2 * pause, KEEP_PAUSE_MAX)
        print(f"deal-pulse: `{' '.join(command)}` exited with {code}; starting it again in {pause:.0f} s",
              file=sys.stderr, flush=True)
        sleep(pause)
        if stopping:
            return code
