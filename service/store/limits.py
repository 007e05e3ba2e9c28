"""Rates and locks: anonymous request counters, amoCRM's request spacing, named locks."""
from __future__ import annotations

from functools import cached_property
from typing import Optional

from service.store import cluster
from service.store.keys import ANON_RATE, GLOBAL_RATE, account_key


# KEYS[1] counts the clients seen in this window, KEYS[2] this client's requests; both expire with the window.
# A new client is admitted only while fewer than ARGV[2] were seen: a flood from many addresses adds no key past
# that, and one client's flood uses one key (it never spends the other clients' budget).
COUNT_ANONYMOUS = """
local n = redis.call('INCR', KEYS[2])
if n == 1 then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  local seen = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  if seen > tonumber(ARGV[2]) then
    redis.call('DEL', KEYS[2])
    return 0
  end
end
if n > tonumber(ARGV[1]) then return 0 end
return 1
"""


# Spacing, not bursts: one request per interval. Spacing alone cannot keep amoCRM's one-second window: the server
# counts a request when it arrives, somewhere between our grant and our reading the answer, and that delay varies
# (a busy host, GC, a new connection: up to 100 ms seen). So each request also holds one of `per_second` window
# tickets from its grant until one window after its answer: any second of arrivals then holds at most per_second.
# Redis' own clock is used so that every worker on every machine agrees.
WINDOW_MS = 1002  # amoCRM's 1 s window, +2 ms for rounding to ms and a server counting both ends


TICKET_HOLD_MS = 120_000  # a request never answered (its worker killed) gives its ticket back after this


_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return paused end
local mine = tonumber(redis.call('GET', KEYS[1]) or '0')
local all = tonumber(redis.call('GET', KEYS[2]) or '0')
local wait = math.max(mine - now, all - now, 0)
if wait > 0 then return wait end
local per_second = tonumber(ARGV[3])
if per_second > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  if redis.call('ZCARD', KEYS[4]) >= per_second then
    local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
    return math.min(math.max(tonumber(first[2]) - now, 1), 1000)  -- all unanswered yet: look again in 1 s
  end
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[5]), ARGV[4])
  redis.call('PEXPIRE', KEYS[4], ARGV[5])
end
redis.call('SET', KEYS[1], now + tonumber(ARGV[1]), 'PX', 60000)
redis.call('SET', KEYS[2], now + tonumber(ARGV[2]), 'PX', 60000)
return 0
"""


_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
"""


class Limits:
    """Anonymous request counters, amoCRM request slots and pauses, named locks."""

    def count_anonymous(self, scope: str, client: str, limit: int, max_clients: int, window: int,
                        now: float) -> int:
        """Count one anonymous request of `client` in the current fixed window of `scope`: 0 when it may go, else
        seconds until the window ends. Keys are bounded: one per client seen in the window, at most `max_clients`
        of them (a client beyond that waits for the next window), each expiring with its window."""
        slot, remaining = int(now) // window, window - int(now) % window
        prefix = f"{ANON_RATE}:{{{scope}}}"  # one hash slot per scope: the script's keys live together
        admitted = self._count_anonymous(keys=[f"{prefix}:n:{slot}", f"{prefix}:c:{client[:64]}:{slot}"],
                                         args=[limit, max_clients, remaining + 1])
        return 0 if int(admitted) else remaining

    @cached_property
    def _count_anonymous(self):
        return self.redis.register_script(COUNT_ANONYMOUS)

    def lock(self, account_id: int, name: str, timeout: float, blocking_timeout: Optional[float] = None):
        """A Redis lock scoped to the account (refresh, sync)."""
        return self.redis.lock(account_key(account_id, "lock", name), timeout=timeout,
                               blocking_timeout=blocking_timeout)

    def acquire_request_slot(self, account_id: int, interval_ms: int, global_interval_ms: int,
                             per_second: int = 0, ticket: str = "") -> int:
        """0 when a request may go now (the slot and, with per_second, a window ticket are taken), else
        milliseconds to wait first."""
        keys = [account_key(account_id, "rl", "next"), GLOBAL_RATE, account_key(account_id, "rl", "paused"),
                account_key(account_id, "rl", "window")]
        if self.cluster:
            return cluster.acquire_request_slot(self.redis, keys, interval_ms, global_interval_ms, per_second,
                                                      ticket, TICKET_HOLD_MS)
        return int(self.redis.eval(_SLOT, 4, *keys, interval_ms, global_interval_ms, per_second, ticket,
                                   TICKET_HOLD_MS))

    def release_request_slot(self, account_id: int, ticket: str) -> None:
        """The request's answer (or failure) is in: its window ticket frees one window from now."""
        self.redis.eval(_RELEASE, 1, account_key(account_id, "rl", "window"), ticket, WINDOW_MS, TICKET_HOLD_MS)

    def pause_requests(self, account_id: int, ms: int) -> None:
        """Stop every worker calling the account for `ms` (after a 429)."""
        self.redis.set(account_key(account_id, "rl", "paused"), 1, px=max(int(ms), 1))
