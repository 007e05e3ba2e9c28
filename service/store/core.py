"""The Redis adapter: owns every key name and encoding. Every account key starts with `acct:{<id>}:`: the braces are
Redis Cluster's hash tag, so all of an account's keys share one slot (scripts and transactions stay on one node)."""
from __future__ import annotations

import threading
from functools import cached_property

import redis
from redis.cluster import RedisCluster

from service.store import cluster
from service.store.accounts import AccountRecords
from service.store.first_contact import FirstContactStore
from service.store.inbox import Inbox
from service.store.insights import Insights
from service.store.keys import account_key
from service.store.limits import Limits
from service.store.mirror import Mirror
from service.store.sync import SyncDocuments


class Store(AccountRecords, Inbox, Mirror, Insights, SyncDocuments, Limits):
    """Typed reads and writes over one Redis connection."""

    def __init__(self, client: redis.Redis, wait_replicas: int = 0, wait_ms: int = 500):
        self.redis = client
        self.cluster = isinstance(client, RedisCluster)
        # On a cluster, an append is answered only once `wait_replicas` replicas hold it (issue 22: nothing
        # acknowledged is lost when its primary dies).
        self.wait_replicas, self.wait_ms = (wait_replicas, wait_ms) if self.cluster else (0, wait_ms)
        self._local = threading.local()

    # workers
    def ping(self) -> bool:
        """True when Redis answers."""
        return bool(self.redis.ping())

    def node_client(self, account_id: int) -> redis.Redis:
        """A plain client of the server holding the account's keys (on one Redis, the client itself)."""
        return cluster.node_client(self.redis, account_key(account_id)) if self.cluster else self.redis

    # --- widget API (issue 7): its keys and encodings live in service/store/widget.py (this file passed 450 lines)
    @cached_property
    def widget(self):
        """The widget API's reads and writes (feedback, hint usefulness, rate limit, one-click locks)."""
        from service.store.widget import WidgetStore

        return WidgetStore(self.redis)

    @cached_property
    def first_contact(self) -> FirstContactStore:
        """First contact's facts: each lead's earliest touches and request, and the re-checks due (issue 21)."""
        return FirstContactStore(self.redis)
