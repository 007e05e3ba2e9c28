"""What use cases get from the outside world: the Deps type (bootstrap.py builds it)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

import redis
import requests
from rq import Queue

from service.config import Settings
from service.store.core import Store


@dataclass
class Deps:
    """What services need from the outside world, built once per process."""

    settings: Settings
    redis: redis.Redis  # REDIS_URL: queues, schedules, job state, the clock's keys
    store: Store  # account data: on REDIS_CLUSTER_URL when set, else on `redis`
    queues: dict[str, Queue]
    clock: Callable[[], float] = field(default=time.time)
    http: requests.Session = field(default_factory=requests.Session)  # amoCRM calls from jobs (pooled, cookie-less)
    click_http: requests.Session = field(default_factory=requests.Session)  # calls a person waits for (short timeouts)

    @contextmanager
    def for_account(self, account_id: int) -> Iterator[Deps]:
        """These deps for work on one account's data: on a cluster, its store talks straight to the account's node
        (Store.on_account_node)."""
        with self.store.on_account_node(account_id) as store:
            yield self if store is self.store else replace(self, store=store)
