"""The webhook inbox of an account: a stream appended by intake, read and trimmed by the drain."""
from __future__ import annotations

import json
import os
import uuid
from typing import Optional

import redis
from redis.exceptions import LockNotOwnedError

from service.model import Account
from service.store import cluster
from service.store.codec import decode_account
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


# A drain's first round trip (issue 22: a drain was 34 round trips): let the next delivery queue a drain, read the
# account, take the drain lease (KEYS[2], token ARGV[1], ARGV[2] ms) and read the first batch after the cursor.
# Answers {0} (not installed), {1} (another drain holds the lease) or {2, account, entries, cursor read after}.
BEGIN_DRAIN = """
redis.call('DEL', KEYS[1])
local account = redis.call('GET', KEYS[3])
if not account then return {0} end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
local cursor = redis.call('GET', KEYS[4]) or '0-0'
return {2, account, redis.call('XRANGE', KEYS[5], '(' .. cursor, '+', 'COUNT', ARGV[3]), cursor}
"""

# The next batch and the cursor it was read after, the lease renewed first; nil when the lease is no longer ours
# (it ran out: another drain may run).
NEXT_BATCH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local cursor = redis.call('GET', KEYS[2]) or '0-0'
return {cursor, redis.call('XRANGE', KEYS[3], '(' .. cursor, '+', 'COUNT', ARGV[3])}
"""

# A batch applied: advance the cursor to ARGV[1] and drop the applied entries, add the counts (ARGV[5..]: name, n)
# in the same step (a batch is counted once, whatever process dies), unless the cursor moved since the batch was
# read after ARGV[4] (a drain that outlived its lease: the drain that took over applied and counted the batch).
# With a lease token (ARGV[2]) the drain ends here too: the lease is let go, and 1 is answered when deliveries came
# in meanwhile and no drain is queued for them yet (the caller queues one; "queued" is set for ARGV[3] seconds, as
# by claim_drain).
FINISH_BATCH = """
if ARGV[1] ~= '' and (ARGV[4] == '' or (redis.call('GET', KEYS[1]) or '0-0') == ARGV[4]) then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('XTRIM', KEYS[2], 'MINID', ARGV[1])
  redis.call('XDEL', KEYS[2], ARGV[1])
  for i = 5, #ARGV, 2 do redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end
end
if ARGV[2] == '' then return 0 end
if redis.call('GET', KEYS[4]) == ARGV[2] then redis.call('DEL', KEYS[4]) end
if redis.call('XLEN', KEYS[2]) > 0 and redis.call('SET', KEYS[5], 1, 'NX', 'EX', ARGV[3]) then return 1 end
return 0
"""

RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _entries(rows: list) -> list[tuple[str, dict]]:
    """Stream entries as a script returns them ([id, [field, value, ...]]): (id, {field: value})."""
    return [(rid.decode(), {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}) for rid, flat in rows]


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
            # One command, not a pipeline of three: half the client's work per webhook, and the writes are atomic.
            entry_id, first = self._script(APPEND_INBOX)(keys=keys, args=args, client=self._thread_client())
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

    def webhooks_received(self, account_id: int) -> int:
        """Deliveries stored since the account was installed."""
        return int(self.redis.get(account_key(account_id, "metrics", "webhooks_received")) or 0)

    def claim_drain(self, account_id: int) -> bool:
        """Mark a drain as queued unless one already is; True when the caller must queue it."""
        return bool(self.redis.set(account_key(account_id, "drain_pending"), 1, nx=True, ex=DRAIN_PENDING_SECONDS))

    def clear_drain_pending(self, account_id: int) -> None:
        """Let the next webhook queue a drain (called when a drain starts)."""
        self.redis.delete(account_key(account_id, "drain_pending"))

    # a drain: its lease (one drain per account at a time) and its batches, in as few round trips as it can
    def begin_drain(self, account_id: int, lease_seconds: float) -> Optional[tuple[str, Account, str, list]]:
        """Start a drain: (lease token, account, the cursor the first batch was read after, first batch), or None
        when the account is not installed or another drain holds its lease. Deliveries from now on queue the next
        drain."""
        token = uuid.uuid4().hex
        keys = [account_key(account_id, "drain_pending"), self._lease_key(account_id),
                account_key(account_id, "account"), account_key(account_id, "inbox_cursor"),
                account_key(account_id, "inbox")]
        answer = self._script(BEGIN_DRAIN)(keys=keys, args=[token, int(lease_seconds * 1000), INBOX_BATCH])
        if answer[0] != 2:
            return None
        return token, decode_account(answer[1]), answer[3].decode(), _entries(answer[2])

    def next_batch(self, account_id: int, token: str, lease_seconds: float) -> tuple[str, list[tuple[str, dict]]]:
        """The drain's next batch and the cursor it was read after, its lease renewed; LockNotOwnedError when the
        lease ran out."""
        keys = [self._lease_key(account_id), account_key(account_id, "inbox_cursor"), account_key(account_id, "inbox")]
        rows = self._script(NEXT_BATCH)(keys=keys, args=[token, int(lease_seconds * 1000), INBOX_BATCH])
        if rows is None:
            raise LockNotOwnedError(f"account {account_id}: the drain lease ran out")
        return rows[0].decode(), _entries(rows[1])

    def mark_applied(self, account_id: int, entry_id: str, counts: Optional[dict] = None,
                     end_lease: Optional[str] = None, after: str = "") -> bool:
        """Advance the cursor past `entry_id` and drop applied entries, adding `counts` to the intake counters in
        the same step; with `after` (the cursor the batch was read after), only while the cursor is still there.
        With `end_lease` (the drain's token), also end the drain: True when deliveries wait that no queued drain
        covers (the caller queues one)."""
        keys = [account_key(account_id, "inbox_cursor"), account_key(account_id, "inbox"),
                account_key(account_id, "intake"), self._lease_key(account_id),
                account_key(account_id, "drain_pending")]
        args = [entry_id, end_lease or "", DRAIN_PENDING_SECONDS, after,
                *(x for name, n in (counts or {}).items() if n for x in (name, n))]
        return bool(self._script(FINISH_BATCH)(keys=keys, args=args))

    def end_drain(self, account_id: int, token: str) -> bool:
        """End a drain that applied nothing more: mark_applied's lease ending alone."""
        return self.mark_applied(account_id, "", end_lease=token)

    def release_drain(self, account_id: int, token: str) -> None:
        """Let go of the drain lease if it is still ours (a drain that failed)."""
        self._script(RELEASE_LEASE)(keys=[self._lease_key(account_id)], args=[token])

    @staticmethod
    def _lease_key(account_id: int) -> str:
        return account_key(account_id, "lock", "drain")

    def _script(self, text: str):
        """The registered script (its SHA computed once per store)."""
        scripts = self.__dict__.setdefault("_scripts", {})
        if text not in scripts:
            scripts[text] = self.redis.register_script(text)
        return scripts[text]

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
        held = iter(self._script(CLAIM_DELIVERIES)(keys=[account_key(account_id, "request", m) for m, _ in keyed],
                                           args=[ttl, *(entry_id for _, entry_id in keyed)]) if keyed else [])
        return [True if not mark else next(held).decode() == entry_id for mark, entry_id in marks]

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
