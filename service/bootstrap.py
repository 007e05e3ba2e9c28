"""The composition root: the only place that builds Redis clients, queues and HTTP sessions."""
from __future__ import annotations

from functools import lru_cache

import redis
from redis.cluster import RedisCluster
from rq import Queue
from rq.serializers import JSONSerializer

from service.amocrm.client import click_session, http_session
from service.config import Settings
from service.deps import Deps
from service.store.core import Store

QUEUE_NAMES = ("webhooks", "insights", "install", "sync")  # highest priority first (install: issue 16)


def build(settings: Settings | None = None) -> Deps:
    """Connect to Redis (lazily: nothing is sent until first use) and build the queues."""
    settings = settings or Settings.from_env()
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is unset: start through `make run` or `python -m service run`")
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2,
                                  health_check_interval=30)
    # JSON, not pickle: nothing read back from Redis can execute code.
    queues = {name: Queue(name, connection=client, serializer=JSONSerializer) for name in QUEUE_NAMES}
    store = Store(account_data_client(settings) or client, settings.intake_wait_replicas, settings.intake_wait_ms)
    return Deps(settings=settings, redis=client, store=store, queues=queues, http=http_session(),
                click_http=click_session())


def account_data_client(settings: Settings):
    """The Redis Cluster that holds account data when REDIS_CLUSTER_URL is set (RQ needs a single Redis and stays on
    REDIS_URL), else None: account data shares REDIS_URL."""
    if not settings.redis_cluster_url:
        return None
    return RedisCluster.from_url(settings.redis_cluster_url, socket_timeout=5, socket_connect_timeout=2)


@lru_cache(maxsize=1)
def worker_deps() -> Deps:
    """The dependencies of this worker process (jobs get ids, not connections)."""
    return build()
