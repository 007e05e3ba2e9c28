"""The drain board, on REDIS_URL next to RQ's keys: which accounts have deliveries waiting for a drain, and whether
the job that drains them (one job for many accounts, issue 22) already waits in the queue."""
from __future__ import annotations

from functools import cached_property

import redis

from service.store.keys import DRAIN_JOB_WAITING, DRAIN_READY

# "The drain job waits" lives this long: a job lost between its enqueue and its first line (a worker killed, Redis
# restarting) holds back the next one no longer; the inbox's own flag and the sweeper bring its accounts back.
JOB_WAITING_SECONDS = 15

# Put the account at the end of the board (a list: first come, first drained; the inbox's own flag lets an account
# in once until its drain starts, and a second entry would find its inbox empty); answer 1 when no drain job waits
# yet (the caller queues one), else 0.
MARK_READY = """
redis.call('RPUSH', KEYS[1], ARGV[1])
if redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[2]) then return 1 end
return 0
"""


class DrainBoard:
    """Accounts waiting for a drain, taken a few at a time by the drain job."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def mark_ready(self, account_id: int) -> bool:
        """Add the account; True when the caller must queue the drain job (none waits)."""
        return bool(self._mark_ready(keys=[DRAIN_READY, DRAIN_JOB_WAITING], args=[int(account_id),
                                                                                 JOB_WAITING_SECONDS]))

    @cached_property
    def _mark_ready(self):
        return self.redis.register_script(MARK_READY)

    def claim_job(self) -> bool:
        """True when no drain job waits: the caller queues one."""
        return bool(self.redis.set(DRAIN_JOB_WAITING, 1, nx=True, ex=JOB_WAITING_SECONDS))

    def job_started(self) -> None:
        """The waiting job has started: accounts marked from now on queue the next one (another worker takes it)."""
        self.redis.delete(DRAIN_JOB_WAITING)

    def take(self, count: int) -> list[int]:
        """Up to `count` accounts, the longest waiting first, each taken by one caller only."""
        return [int(x) for x in self.redis.lpop(DRAIN_READY, count) or []]

    def waiting(self) -> int:
        """Accounts on the board."""
        return self.redis.llen(DRAIN_READY)
