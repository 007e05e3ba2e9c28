"""The clock process: enqueues periodic jobs. Several may run; a Redis lease lets one tick at a time."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

from service.deps import Deps
from service.services.hook_health import CHECK_MINUTES
from service.services import queueing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A job of queueing's table queued every `every` seconds (its queue, timeout and retries are the table's)."""

    job: str
    every: int

    @property
    def func(self) -> str:
        """The job's function, as RQ names it."""
        return queueing.function(self.job)


def schedule(settings) -> tuple[Periodic, ...]:
    """What runs periodically, and how often."""
    return (
        Periodic("sweep_inboxes", 30),
        Periodic("recompute_all", 15 * 60),  # team statistics drift with time alone
        Periodic("reconcile_all", settings.reconcile_minutes * 60),  # repairs lost webhooks
        Periodic("check_webhooks_all", CHECK_MINUTES * 60),  # amoCRM disables failing hooks
        Periodic("score_all", 86400),  # the backtest replays six months: daily
    )
LEASE = "dp:clock:lease"


def tick(deps: Deps, now: float) -> list[str]:
    """Queue each periodic job that is due; return what was queued."""
    queued = []
    for periodic in schedule(deps.settings):
        slot = int(now // periodic.every)
        # One enqueue per slot across every clock replica.
        if deps.redis.set(f"dp:clock:{periodic.func}:{slot}", 1, nx=True, ex=periodic.every * 2):
            queueing.enqueue(deps, periodic.job)
            queued.append(periodic.func)
    return queued


MAX_WAIT = 30.0  # seconds between tries while Redis is away


def run(deps: Deps, interval: float = 1.0, stop=lambda: False, sleep=time.sleep) -> None:
    """Tick until stopped; while Redis is away (a restart, a failover), wait and try again instead of exiting."""
    log.info("clock started: %s", ", ".join(f"{p.func} every {p.every}s" for p in schedule(deps.settings)))
    wait = 0.0
    while not stop():
        try:
            for func in tick(deps, deps.clock()):
                log.info("queued %s", func)
        except redis.RedisError as exc:
            wait = min(max(2 * wait, interval), MAX_WAIT)
            log.warning("Redis unavailable (%s): the clock tries again in %.0f s", type(exc).__name__, wait)
            sleep(wait)
            continue
        if wait:
            log.info("Redis is back: the clock ticks again")
            wait = 0.0
        sleep(interval)
