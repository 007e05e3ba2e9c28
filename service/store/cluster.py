"""What Store does differently on a Redis Cluster (REDIS_CLUSTER_URL): a durable inbox append and a split rate slot.

Every account key carries the account's hash tag (`acct:{<id>}:...`), so one account's keys live on one node. Keys
of no account (dp:accounts, dp:rl:next, ...) are single keys in their own slots: nothing here ever touches one of
them in the same script as an account's keys.
"""
from __future__ import annotations

import redis
from redis.cluster import RedisCluster


# What a plain client of a cluster node meets when the account's slot has moved or its node is gone.
TOPOLOGY_CHANGED = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.AskError,
                    redis.exceptions.ClusterDownError, redis.exceptions.TryAgainError, redis.exceptions.ReadOnlyError)


class NotReplicated(redis.RedisError):
    """A write reached its primary but no replica confirmed it in time: the caller must not acknowledge it."""


def node_client(cluster: RedisCluster, key: str) -> redis.Redis:
    """A plain client of the primary that serves `key`'s slot (as the cluster client last saw the topology)."""
    return cluster.get_redis_connection(cluster.get_node_from_key(key))


def append_durably(store, script: str, account_id: int, keys: list, args: list) -> tuple[bytes, int]:
    """The inbox append script and `WAIT <replicas> <ms>` in one round trip over one connection of the slot's
    primary: WAIT counts the replicas holding this connection's writes, so it must follow on the same connection.
    Fewer replicas than asked for raises NotReplicated (the webhook is answered 503 and amoCRM retries; the stored
    entry may still be applied, and the retry is then a duplicate the drain drops by its request id)."""
    for attempt in (1, 2):
        try:
            pipe = node_client(store.redis, keys[0]).pipeline(transaction=False)
            pipe.eval(script, len(keys), *keys, *args)
            if store.wait_replicas:
                pipe.execute_command("WAIT", store.wait_replicas, store.wait_ms)
            answers = pipe.execute()
            break
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            # MOVED/CLUSTERDOWN or a dead primary: the topology changed. Learn it again, try once more, else 503.
            if attempt == 2:
                raise
            store.redis.nodes_manager.initialize()
    if store.wait_replicas and int(answers[1]) < store.wait_replicas:
        raise NotReplicated(f"account {account_id}: {answers[1]} of {store.wait_replicas} replicas "
                            f"acknowledged within {store.wait_ms} ms")
    return answers[0][0], answers[0][1]


# The rate slot of store._SLOT in two scripts: an account's keys (spacing, pause, window tickets) in its slot, the
# deployment-wide spacing in another. The account's slot is taken first; when the global cap then says wait, the
# account's slot is spent (its ticket stays held under the same name until the request goes): conservative, never
# over either limit.
_ACCOUNT_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local wait = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') - now, 0)
if wait > 0 then return wait end
local per_second = tonumber(ARGV[2])
if per_second > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= per_second and not redis.call('ZSCORE', KEYS[3], ARGV[3]) then
    local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    return math.min(math.max(tonumber(first[2]) - now, 1), 1000)
  end
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
redis.call('SET', KEYS[1], now + tonumber(ARGV[1]), 'PX', 60000)
return 0
"""
_GLOBAL_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') - now, 0)
if wait > 0 then return wait end
redis.call('SET', KEYS[1], now + tonumber(ARGV[1]), 'PX', 60000)
return 0
"""


def acquire_request_slot(cluster: RedisCluster, keys: list, interval_ms: int, global_interval_ms: int,
                         per_second: int, ticket: str, hold_ms: int) -> int:
    """store.Store.acquire_request_slot on a cluster: `keys` are (next, global next, paused, window)."""
    own_next, global_next, paused, window = keys
    wait = int(cluster.eval(_ACCOUNT_SLOT, 3, own_next, paused, window, interval_ms, per_second, ticket, hold_ms))
    if wait:
        return wait
    return int(cluster.eval(_GLOBAL_SLOT, 1, global_next, global_interval_ms))
