"""The Redis adapter: owns every key name and encoding. Every account key starts with `acct:{<id>}:`: the braces are
Redis Cluster's hash tag, so all of an account's keys share one slot (scripts and transactions stay on one node)."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import cached_property
from typing import Iterator

import redis
from redis.cluster import RedisCluster

from service.store import cluster
from service.store.accounts import AccountRecords
from service.store.codec import Read, read_together
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
        self._node_stores: dict[str, Store] = {}

    # workers
    def ping(self) -> bool:
        """True when Redis answers."""
        return bool(self.redis.ping())

    def read(self, *reads: Read) -> list:
        """The values of several reads (the `..._read` methods) in one round trip."""
        return read_together(self.redis, reads)

    def node_client(self, account_id: int) -> redis.Redis:
        """A plain client of the server holding the account's keys (on one Redis, the client itself)."""
        return cluster.node_client(self.redis, account_key(account_id)) if self.cluster else self.redis

    @contextmanager
    def on_account_node(self, account_id: int) -> Iterator[Store]:
        """This store; on a cluster, the same store over a plain client of the node that holds the account's slot.

        Every key of an account is on that node, and the cluster client's routing of each command cost a third of a
        drain's CPU (issue 22, BENCHMARKS.md). For work on the account's own keys only: a global key (dp:...) lives
        in another slot, and a webhook's append must WAIT for a replica (append_inbox on this store). A moved slot or
        a dead node fails the work (the sweeper queues it again) and refreshes the slot map."""
        if not self.cluster:
            yield self
            return
        node = self.redis.get_node_from_key(account_key(account_id))
        scoped = self._node_stores.get(node.name)
        if scoped is None:
            scoped = self._node_stores[node.name] = Store(self.redis.get_redis_connection(node))
        try:
            yield scoped
        except cluster.TOPOLOGY_CHANGED:
            try:
                self.redis.nodes_manager.initialize()  # the next try asks the slot's new owner
            except Exception:  # noqa: BLE001 — still electing: the next try learns the map; the first error stands
                pass
            raise

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
