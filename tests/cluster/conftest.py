"""A real Redis Cluster (3 primaries, 3 replicas, embedded binary, loopback) holding account data; RQ stays on the
session's single Redis, as in production with REDIS_CLUSTER_URL."""
from __future__ import annotations

import os

import pytest

from service import bootstrap
from service.config import Settings
from service.ops.redis_cluster import EmbeddedCluster


@pytest.fixture(scope="module")
def cluster(redis_url):
    """A fresh cluster per test module (a failover test leaves its topology changed)."""
    with EmbeddedCluster(primaries=3, replicas=1) as running:
        os.environ["REDIS_CLUSTER_URL"] = running.url  # RQ jobs build their deps from the environment
        bootstrap.worker_deps.cache_clear()
        yield running
        os.environ.pop("REDIS_CLUSTER_URL", None)
        bootstrap.worker_deps.cache_clear()


@pytest.fixture
def settings(redis_url, cluster) -> Settings:
    """Development settings: queues on the session Redis, account data on the cluster."""
    return Settings(redis_url=redis_url, redis_cluster_url=cluster.url)


@pytest.fixture
def deps(settings):
    """Fresh dependencies over an empty Redis and an empty cluster."""
    built = bootstrap.build(settings)
    built.redis.flushdb()
    built.store.redis.flushdb()
    bootstrap.worker_deps.cache_clear()
    yield built
    built.redis.close()
    built.store.redis.close()
