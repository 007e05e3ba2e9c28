"""The composition root: the only place that builds Redis clients, queues and HTTP sessions."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from service.config import Settings
from service.store import Store

QUEUE_NAMES = ("webhooks", "insights", "sync")  # highest priority first


@dataclass
class Deps:
    """What services need from the outside world, built once per process."""

    settings: Settings
    redis: redis.Redis
    store: Store
    queues: dict[str, Queue]
    clock: Callable[[], float] = field(default=time.time)


def build(settings: Settings | None = None) -> Deps:
    """Connect to Redis (lazily: nothing is sent until first use) and build the queues."""
    settings = settings or Settings.from_env()
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is unset: start through `make run` or `python -m service run`")
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2,
                                  health_check_interval=30)
    # JSON, not pickle: nothing read back from Redis can execute code.
    queues = {name: Queue(name, connection=client, serializer=JSONSerializer) for name in QUEUE_NAMES}
    return Deps(settings=settings, redis=client, store=Store(client), queues=queues)


@lru_cache(maxsize=1)
def worker_deps() -> Deps:
    """The dependencies of this worker process (jobs get ids, not connections)."""
    return build()
