"""`make run` in demo mode, end to end: a small sandbox account becomes a card preview with hints; one Ctrl-C
(SIGINT) stops everything, and no process or listening port of it remains."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from service.ops.redis_server import ROOT, free_port

SETTINGS = ("AMOCRM_CLIENT_ID", "AMOCRM_CLIENT_SECRET", "AMOCRM_API_BASE", "PUBLIC_URL", "DEAL_PULSE_ENV",
            "REDIS_URL", "METRICS_TOKEN")


def descendants(root: int) -> set[int]:
    """Every living process below `root`, from /proc."""
    parents = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def demo_run():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(PORT=str(port), DEMO_SIZE="small", PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "service", "run"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield process, port
    if process.poll() is None:  # a failed test must not leave the demo running
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def read_until(process: subprocess.Popen, pattern: str, timeout: float = 120) -> tuple[str, list[str]]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if re.search(pattern, line):
            return line, lines
    raise AssertionError("make run did not get there:\n" + "\n".join(lines[-30:]))


def test_make_run_reaches_a_card_preview_with_hints_and_one_ctrl_c_stops_everything(demo_run):
    process, port = demo_run
    line, output = read_until(process, r"Card preview")
    card_url = line.split()[-1]
    assert any(x.startswith("Sync  [") for x in output)  # the progress bar was drawn
    plans = [x for x in output if x.startswith("Plans for this month:")]
    assert plans and not plans[0].startswith("Plans for this month: 0 ")  # pacing and P(plan met) have a plan
    sandbox_line, _ = read_until(process, r"Sandbox amoCRM")
    sandbox_port = int(re.search(r"127\.0\.0\.1:(\d+)", sandbox_line).group(1))

    page = requests.get(card_url, timeout=10)
    assert page.status_code == 200 and "<option value=" in page.text  # a picker of deals with hints
    assert requests.get(card_url.replace("/card", "/panel"), timeout=10).status_code == 200
    assert requests.get(f"http://127.0.0.1:{sandbox_port}/_sandbox/state", timeout=10).status_code == 200
    redis_port = int(re.search(r"Redis redis://127\.0\.0\.1:(\d+)", "\n".join(output)).group(1))
    ours = descendants(process.pid)
    assert len(ours) >= 8  # redis, sandbox, honcho, web (master + workers), 2 workers, clock

    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "Deal Pulse stopped." in rest
    assert [pid for pid in ours if alive(pid)] == []
    assert not any(listening(p) for p in (port, sandbox_port, redis_port))
