"""The webhook inbox of an account: a stream appended by intake, read and trimmed by the drain."""
from __future__ import annotations

import json
import os
from functools import cached_property
from typing import Optional

import redis

from service.store import cluster
from service.store.keys import account_key


INBOX_BATCH = 500


# "A drain is queued" lives this long: a drain job lost between its enqueue and its first line (a worker killed,
# Redis restarting) blocks nothing for longer; the next delivery or the sweeper queues another. A backlog longer
# than this queues at most one spare drain per account per period; a spare finds the lease taken or nothing to do.
DRAIN_PENDING_SECONDS = 15


# The inbox append: the entry, "a drain must be queued" (only the first since the last drain started), the count.
# With ARGV[1] = 1 it first checks, in the same call (no round trip more per webhook): the account is still
# installed (a disable deletes its record first: nothing is stored after), this second's deliveries are within
# ARGV[2], and the inbox holds fewer than ARGV[3] entries (0: no limit). A refusal stores nothing.
APPEND_INBOX = """
if ARGV[1] == '1' then
  if redis.call('EXISTS', KEYS[4]) == 0 then return {'', -1} end
  local limit = tonumber(ARGV[2])
  if limit > 0 then
    local n = redis.call('INCR', KEYS[5])
    if n == 1 then redis.call('EXPIRE', KEYS[5], 2) end
    if n > limit then return {'', -2} end
  end
  local cap = tonumber(ARGV[3])
  if cap > 0 and redis.call('XLEN', KEYS[1]) >= cap then return {'', -3} end
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
local first = redis.call('SET', KEYS[2], 1, 'NX', 'EX', DRAIN_PENDING_SECONDS)
redis.call('INCR', KEYS[3])
return {id, first and 1 or 0}
""".replace("DRAIN_PENDING_SECONDS", str(DRAIN_PENDING_SECONDS))


INBOX_REFUSALS = {-1: "not_installed", -2: "rate", -3: "full"}


class InboxRefused(Exception):
    """The inbox did not take a delivery: `reason` is not_installed, rate or full."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# Each key (a delivery's mark) takes ARGV[i+1] (its inbox entry id) unless it already names one; answers the holders.
CLAIM_DELIVERIES = """
local held = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if not owner then
    owner = ARGV[i + 1]
    redis.call('SET', key, owner, 'EX', ARGV[1])
  end
  held[i] = owner
end
return held
"""


class Inbox:
    """The inbox stream, its drain flags, delivery ids, counters and dead letters."""

    # durable inbox
    def append_inbox(self, account_id: int, entry: dict, limits: Optional[tuple[int, int, int]] = None
                     ) -> tuple[str, bool]:
        """Store a raw webhook; return its id and whether a drain must be queued. With `limits` (the current second,
        deliveries allowed per second, inbox entries allowed) raise InboxRefused instead of going past them."""
        second, per_second, cap = limits or (0, 0, 0)
        keys = [account_key(account_id, "inbox"), account_key(account_id, "drain_pending"),
                account_key(account_id, "metrics", "webhooks_received"),  # the intake rate is its rate()
                account_key(account_id, "account"), account_key(account_id, "intake_rl", second)]
        args = [1 if limits else 0, per_second, cap, *(x for pair in entry.items() for x in pair)]
        if self.cluster:
            entry_id, first = cluster.append_durably(self, APPEND_INBOX, account_id, keys, args)
        else:
            entry_id, first = self._append_inbox(keys=keys, args=args, client=self._thread_client())
        if first < 0:
            raise InboxRefused(INBOX_REFUSALS[first])
        return entry_id.decode(), bool(first)

    def _thread_client(self) -> redis.Redis:
        """This thread's own connection from the same pool: each delivery skips the pool's lock and bookkeeping (a
        tenth of its CPU under gunicorn's threads; bench/intake_bench.py)."""
        pid, client = getattr(self._local, "held", (None, None))
        if pid != os.getpid():  # a forked child never talks over its parent's socket
            client = redis.Redis(connection_pool=self.redis.connection_pool, single_connection_client=True)
            self._local.held = (os.getpid(), client)
        return client

    @cached_property
    def _append_inbox(self):
        # One command, not a pipeline of three: half the client's work per webhook, and the three writes are atomic.
        return self.redis.register_script(APPEND_INBOX)

    def webhooks_received(self, account_id: int) -> int:
        """Deliveries stored since the account was installed."""
        return int(self.redis.get(account_key(account_id, "metrics", "webhooks_received")) or 0)

    def claim_drain(self, account_id: int) -> bool:
        """Mark a drain as queued unless one already is; True when the caller must queue it."""
        return bool(self.redis.set(account_key(account_id, "drain_pending"), 1, nx=True, ex=DRAIN_PENDING_SECONDS))

    def clear_drain_pending(self, account_id: int) -> None:
        """Let the next webhook queue a drain (called when a drain starts)."""
        self.redis.delete(account_key(account_id, "drain_pending"))

    def read_inbox(self, account_id: int) -> list[tuple[str, dict]]:
        """Entries after the applied cursor, oldest first."""
        cursor = self.redis.get(account_key(account_id, "inbox_cursor")) or b"0-0"
        rows = self.redis.xrange(account_key(account_id, "inbox"),
                                 min=b"(" + cursor, count=INBOX_BATCH)
        return [(rid.decode(), {k.decode(): v for k, v in fields.items()}) for rid, fields in rows]

    def mark_applied(self, account_id: int, entry_id: str, counts: Optional[dict] = None) -> None:
        """Advance the cursor and drop applied entries; add `counts` to the intake counters in the same transaction
        (a batch is counted once, whatever process dies)."""
        pipe = self.redis.pipeline()
        pipe.set(account_key(account_id, "inbox_cursor"), entry_id)
        pipe.xtrim(account_key(account_id, "inbox"), minid=entry_id, approximate=False)
        pipe.xdel(account_key(account_id, "inbox"), entry_id)
        for name, n in (counts or {}).items():
            if n:
                pipe.hincrby(account_key(account_id, "intake"), name, n)
        pipe.execute()

    def oldest_pending_at(self, account_id: int) -> Optional[float]:
        """When the oldest delivery not yet applied was stored (its stream id is its arrival in ms), or None."""
        cursor = self.redis.get(account_key(account_id, "inbox_cursor")) or b"0-0"
        rows = self.redis.xrange(account_key(account_id, "inbox"), min=b"(" + cursor, count=1)
        return int(rows[0][0].split(b"-")[0]) / 1000 if rows else None

    def inbox_length(self, account_id: int) -> int:
        """Events stored but not yet applied."""
        return self.redis.xlen(account_key(account_id, "inbox"))

    # --- webhook processing bookkeeping
    def claim_deliveries(self, account_id: int, marks: list, ttl: int = 3 * 86400) -> list[bool]:
        """For (delivery mark, inbox entry id) pairs: True where the entry may be applied. A mark names the first
        inbox entry that carried the delivery; a later entry with the same mark is a retry (False), the same entry
        read again after a crash is not (True): it is re-applied, so no crash between mark and apply loses it.
        A None mark (no request id sent) is always True. One round trip."""
        keyed = [(mark, entry_id) for mark, entry_id in marks if mark]
        held = iter(self._claim_deliveries(keys=[account_key(account_id, "request", m) for m, _ in keyed],
                                           args=[ttl, *(entry_id for _, entry_id in keyed)]) if keyed else [])
        return [True if not mark else next(held).decode() == entry_id for mark, entry_id in marks]

    @cached_property
    def _claim_deliveries(self):
        return self.redis.register_script(CLAIM_DELIVERIES)

    def forget_request(self, account_id: int, mark: str) -> None:
        """Let a delivery be applied again (its first try failed)."""
        self.redis.delete(account_key(account_id, "request", mark))

    def count(self, account_id: int, **increments: int) -> None:
        """Add to the account's intake counters (received, applied, duplicates, dead_lettered)."""
        pipe = self.redis.pipeline(transaction=False)
        for name, n in increments.items():
            if n:
                pipe.hincrby(account_key(account_id, "intake"), name, n)
        pipe.execute()

    def counters(self, account_id: int) -> dict[str, int]:
        """The account's intake counters."""
        return {k.decode(): int(v) for k, v in self.redis.hgetall(account_key(account_id, "intake")).items()}

    def dead_letter(self, account_id: int, entry: dict, error: str) -> None:
        """Keep a webhook that could not be applied, with its error, for inspection and replay."""
        letter = {"error": error, **{k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                                     for k, v in entry.items()}}
        self.redis.rpush(account_key(account_id, "dead_letters"), json.dumps(letter))

    def dead_letters(self, account_id: int) -> list[dict]:
        """The account's dead letters, oldest first."""
        return [json.loads(x) for x in self.redis.lrange(account_key(account_id, "dead_letters"), 0, -1)]

    def take_dead_letters(self, account_id: int) -> list[dict]:
        """Remove and return every dead letter (to replay them)."""
        pipe = self.redis.pipeline()
        pipe.lrange(account_key(account_id, "dead_letters"), 0, -1)
        pipe.delete(account_key(account_id, "dead_letters"))
        rows, _ = pipe.execute()
        return [json.loads(x) for x in rows]

    def last_webhook_ms(self, account_id: int) -> int:
        """The arrival time (ms) of the latest webhook, applied or not: the inbox stream's last generated id (0: none
        yet)."""
        try:
            info = self.redis.xinfo_stream(account_key(account_id, "inbox"))
        except redis.ResponseError:  # no webhook yet: the stream does not exist
            return 0
        last = info.get("last-generated-id") or b"0-0"
        last = last.decode() if isinstance(last, bytes) else str(last)
        return int(last.split("-")[0])
