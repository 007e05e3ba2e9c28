"""`make run` without amoCRM credentials: the sandbox account installed for real, synced, and alive."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, TextIO

import requests

from service import bootstrap
from service.services import queueing, sync
from service.config import Settings
from service.insights.plans import month_bounds, month_key, won_by_user
from service.model import Lead
from service.preview.deals import deals_with_hints

POLL = 0.5


class DemoError(RuntimeError):
    """The demo could not reach a working preview; the message says where it stopped."""


def start_sandbox(size: str, port: int, log_path: Path, popen: Callable = subprocess.Popen) -> subprocess.Popen:
    """The sandbox amoCRM on a loopback port; it generates its account while our processes start."""
    with open(log_path, "ab") as log_file:
        return popen([sys.executable, "-m", "service.sandbox", "serve", "--size", size, "--port", str(port),
                      "--host", "127.0.0.1"], stdout=subprocess.PIPE, stderr=log_file)


def sandbox_account(process: subprocess.Popen, log_path: Path) -> int:
    """Wait for the sandbox to serve; returns its account id."""
    line = process.stdout.readline()
    if not line:
        raise DemoError(f"the sandbox did not start (see {log_path})")
    threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
    return int(json.loads(line)["account_id"])


def _drain(stream) -> None:
    for _ in stream:
        pass


def configure_sandbox(url: str, settings: Settings) -> None:
    """Make the sandbox's integration ours, and let it answer at the demo's rate."""
    answer = requests.patch(f"{url}/_sandbox/settings", timeout=10, json={
        "oauth": {"client_id": settings.client_id, "client_secret": settings.client_secret,
                  "redirect_uri": settings.redirect_uri, "disable_hook_url": f"{settings.base_url}/oauth/disable"},
        "rate_limit": {"per_second": max(7, int(settings.demo_rps))}})
    answer.raise_for_status()


def wait_ready(base_url: str, alive: Callable[[], bool], timeout: float = 90) -> None:
    """Until /readyz says a web process and a worker are up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise DemoError("a process exited during start-up")
        try:
            if requests.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(POLL)
    raise DemoError(f"{base_url}/readyz did not answer 200 within {timeout:.0f} s")


def install(url: str) -> None:
    """amoCRM's install: the sandbox calls our redirect URI with a fresh code."""
    answer = requests.post(f"{url}/_sandbox/install", json={}, timeout=10).json()
    if answer.get("status") != 200:
        raise DemoError(f"our redirect URI answered {answer.get('status')} to the sandbox's install")


def follow_sync(settings: Settings, account_id: int, out: TextIO, alive: Callable[[], bool]) -> float:
    """Draw the sync's progress until the first hints are stored; returns when they were."""
    deps = bootstrap.build(settings)
    bar = ProgressBar(out)
    try:
        while alive():
            demo_clock(deps, account_id)
            status = sync.sync_status(deps, account_id) if deps.store.get_account(account_id) else None
            if status and status["state"] == "stopped":
                raise DemoError(f"the sync stopped: {status['reason']}")
            if status and status["state"] == "done" and deals_with_hints(deps.store, account_id, limit=1):
                bar.finish({**status, "hints": True})
                return time.time()
            bar.draw(status)
            time.sleep(POLL)
        raise DemoError("a process exited during the sync")
    finally:
        deps.redis.close()


def demo_clock(deps, account_id: int) -> None:
    """The demo runs at any hour: its first-contact limit counts around the clock (the panel's settings can put the
    working hours back), so the simulator's waiting clients show the hint at night too."""
    if deps.store.get_account(account_id) and deps.store.read_insight(account_id, "settings") is None:
        deps.store.save_insight(account_id, "settings", {"working_hours": None})


def start_simulator(url: str, rate: float) -> None:
    """Managers at work in the sandbox: webhooks keep flowing."""
    requests.post(f"{url}/_sandbox/simulator", json={"rate": rate, "seed": 1}, timeout=10).raise_for_status()


class ProgressBar:
    """One redrawn line on a terminal; a line every few seconds elsewhere (logs, CI)."""

    WIDTH = 30

    def __init__(self, out: TextIO, every: float = 5.0):
        self.out, self.every = out, every
        self.tty = out.isatty()
        self.last_line, self.last_time = "", 0.0

    def draw(self, status) -> None:
        line = describe(status)
        if self.tty:
            self.out.write("\r" + line.ljust(len(self.last_line)))
            self.out.flush()
        elif line != self.last_line and time.monotonic() - self.last_time >= self.every:
            self.out.write(line + "\n")
            self.out.flush()
            self.last_time = time.monotonic()
        self.last_line = line

    def finish(self, status) -> None:
        """The last state, always shown, then a new line."""
        line = describe(status)
        self.out.write(("\r" + line.ljust(len(self.last_line)) + "\n") if self.tty else line + "\n")
        self.out.flush()


def describe(status) -> str:
    """`Sync  [#####.....]  45.2%  12,345 entities  ETA 1:23`, or what comes before the sync."""
    if status is None:
        return "Installing the sandbox account through OAuth…"
    if status["state"] in ("never",) or (status["state"] == "running" and not status.get("steps")):
        return "Sync  counting pages…"
    if status["state"] == "done":
        return (f"Sync  [{'#' * ProgressBar.WIDTH}] 100.0%  {status['entities_done']:,} entities  "
                f"{'insights ready' if status.get('hints') else 'computing insights…'}")
    filled = int(ProgressBar.WIDTH * status["percent"] / 100)
    eta = status.get("eta_seconds")
    eta_text = f"ETA {eta // 60}:{eta % 60:02d}" if isinstance(eta, int) else "ETA …"
    return (f"Sync  [{'#' * filled}{'.' * (ProgressBar.WIDTH - filled)}] {status['percent']:5.1f}%  "
            f"{status['entities_done']:,} entities  {eta_text}")


def addresses(settings: Settings, sandbox_url: str, rate: float) -> str:
    """What to open, in both languages."""
    base = settings.base_url
    return "\n".join([
        "",
        "Deal Pulse is running on the sandbox amoCRM account  ·  Deal Pulse работает на аккаунте-песочнице",
        f"  Card preview / карточка сделки:           {base}/preview/card",
        f"  Supervisor panel / панель руководителя:   {base}/preview/panel",
        f"  Sandbox amoCRM / песочница amoCRM:        {sandbox_url}/_sandbox/state  ({rate:g} live events/s)",
        f"  Metrics / метрики:                        {base}/metrics",
        "Press Ctrl-C to stop everything  ·  Ctrl-C останавливает всё",
        ""])


PLAN_STRETCH = 1.15  # a plan a little above what the manager has been winning: pacing and P(plan met) both tell


def demo_plans(leads: Iterable[Lead], now: int, timezone: str) -> list[dict]:
    """This month's plans for the demo: each manager's average monthly wins of the last three months, stretched
    and rounded up to 10 000, and the account's plan as their sum."""
    month = month_key(now, timezone)
    start, _ = month_bounds(now, timezone, -3)
    end, _ = month_bounds(now, timezone)
    won = won_by_user(leads, start, end)
    plans = [{"month": month, "user_id": user, "amount": float(math.ceil(amount / 3 * PLAN_STRETCH / 10_000) * 10_000),
              "count": None} for user, (amount, _) in sorted(won.items()) if amount > 0]
    if plans:
        plans.insert(0, {"month": month, "user_id": None, "amount": sum(p["amount"] for p in plans), "count": None})
    return plans


def set_plans(settings: Settings, account_id: int) -> int:
    """Give the demo account plans for the current month (unless it has some) and recompute, so plan pacing,
    P(plan met) and the deals that close the gap are on screen; returns how many plans were set."""
    deps = bootstrap.build(settings)
    try:
        account = deps.store.get_account(account_id)
        now = int(deps.clock())
        month = month_key(now, account.timezone)
        if any(p.get("month") == month for p in deps.store.read_plans(account_id)):
            return 0
        plans = demo_plans(deps.store.all_leads(account_id), now, account.timezone)
        for plan in plans:
            deps.store.save_plan(account_id, plan)
        queueing.enqueue(deps, "recompute_account", account_id)
        return len(plans)
    finally:
        deps.redis.close()
