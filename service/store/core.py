"""The Redis adapter: owns every key name and encoding. Every account key starts with `acct:{<id>}:`: the braces are
Redis Cluster's hash tag, so all of an account's keys share one slot (scripts and transactions stay on one node)."""
from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, is_dataclass
from functools import cached_property
from typing import Iterable, Iterator, Mapping, Optional

import orjson
import redis
from redis.cluster import RedisCluster

from service.store import cluster, timelines
from service.model import Account, Call, CloseDateChange, IncomingLead, Lead, StageChange, Task
from service.model import DateField, Pipeline, Stage, User
from service.store.records import record_builder

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


def account_key(account_id: int, *parts) -> str:
    """The one place account-scoped key names are made: `acct:{<id>}:<parts>` (hash-tagged by the account id)."""
    return ":".join([f"acct:{{{int(account_id)}}}", *map(str, parts)])


def legacy_account_prefix(account_id: int) -> str:
    """The untagged prefix account keys had before hash tags (`acct:<id>:`): only `migrate-to-cluster` reads it."""
    return f"acct:{int(account_id)}:"


# Keys of no account (README "Scaling out"): each is a single key on the account-data Redis (on a cluster, in its own
# slot, never in the same script or transaction as an account's keys). RQ's and the clock's keys are on REDIS_URL.
ACCOUNTS = "dp:accounts"  # global index: account ids (how sweeps list accounts on a cluster too)
SUBDOMAINS = "dp:subdomains"  # global index: subdomain -> account id
ORIGINS = "dp:origins"  # global index: browser origin -> account id (CORS)


class Store:
    """Typed reads and writes over one Redis connection."""

    def __init__(self, client: redis.Redis, wait_replicas: int = 0, wait_ms: int = 500):
        self.redis = client
        self.cluster = isinstance(client, RedisCluster)
        # On a cluster, an append is answered only once `wait_replicas` replicas hold it (issue 22: nothing
        # acknowledged is lost when its primary dies).
        self.wait_replicas, self.wait_ms = (wait_replicas, wait_ms) if self.cluster else (0, wait_ms)
        self._local = threading.local()

    # accounts
    def save_account(self, account: Account) -> None:
        """Register (or update) an installed account."""
        pipe = self.redis.pipeline(transaction=not self.cluster)  # on a cluster the index keys are other slots
        pipe.set(account_key(account.id, "account"), json.dumps(asdict(account)))
        pipe.sadd(ACCOUNTS, account.id)
        pipe.hset(SUBDOMAINS, account.subdomain, account.id)
        pipe.hset(ORIGINS, account.origin, account.id)
        pipe.execute()

    def get_account(self, account_id: int) -> Optional[Account]:
        """The installed account, or None."""
        return _account(self.redis.get(account_key(account_id, "account")))

    def account_id_for(self, subdomain: str) -> Optional[int]:
        """The id of the installed account on `subdomain`, or None."""
        raw = self.redis.hget(SUBDOMAINS, subdomain)
        return int(raw) if raw else None

    def origin_is_installed(self, origin: str) -> bool:
        """True when some installed account's pages live on `origin`."""
        return bool(self.redis.hexists(ORIGINS, origin))

    def account_ids(self) -> list[int]:
        """Every installed account id."""
        return sorted(int(x) for x in self.redis.smembers(ACCOUNTS))

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
            entry_id, first = cluster.append_durably(self, account_id, keys, args)
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

    def mark_applied(self, account_id: int, entry_id: str) -> None:
        """Advance the cursor and drop applied entries."""
        pipe = self.redis.pipeline()
        pipe.set(account_key(account_id, "inbox_cursor"), entry_id)
        pipe.xtrim(account_key(account_id, "inbox"), minid=entry_id, approximate=False)
        pipe.xdel(account_key(account_id, "inbox"), entry_id)
        pipe.execute()

    def oldest_pending_at(self, account_id: int) -> Optional[float]:
        """When the oldest delivery not yet applied was stored (its stream id is its arrival in ms), or None."""
        cursor = self.redis.get(account_key(account_id, "inbox_cursor")) or b"0-0"
        rows = self.redis.xrange(account_key(account_id, "inbox"), min=b"(" + cursor, count=1)
        return int(rows[0][0].split(b"-")[0]) / 1000 if rows else None

    def inbox_length(self, account_id: int) -> int:
        """Events stored but not yet applied."""
        return self.redis.xlen(account_key(account_id, "inbox"))

    # mirror
    def get_leads(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, Lead]:
        """The mirrored leads among `lead_ids`."""
        ids = list(lead_ids)
        if not ids:
            return {}
        raw = self.redis.hmget(account_key(account_id, "leads"), ids)
        found = [(i, r) for i, r in zip(ids, raw) if r]
        return {i: Lead(**d) for (i, _), d in zip(found, _decode_many(r for _, r in found))}

    def save_leads(self, account_id: int, leads: Iterable[Lead]) -> None:
        """Write mirrored leads."""
        mapping = {lead.id: json.dumps(asdict(lead)) for lead in leads}
        if mapping:
            self.redis.hset(account_key(account_id, "leads"), mapping=mapping)

    # precomputed card hints
    def save_card(self, account_id: int, lead_id: int, card: dict) -> None:
        """Store a lead's precomputed hints as the exact JSON the API returns."""
        self.redis.hset(account_key(account_id, "cards"), lead_id, json.dumps(card, ensure_ascii=False))

    def read_card(self, account_id: int, lead_id: int) -> Optional[dict]:
        """One precomputed card, or None."""
        raw = self.redis.hget(account_key(account_id, "cards"), lead_id)
        return json.loads(raw) if raw else None

    def save_tasks(self, account_id: int, tasks: Iterable[Task]) -> None:
        """Write tasks and index them by lead."""
        tasks = list(tasks)
        if not tasks:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(account_key(account_id, "tasks"), mapping={t.id: _encode(t) for t in tasks})
        for task in tasks:
            pipe.sadd(account_key(account_id, "tasks_of", task.lead_id), task.id)
        pipe.execute()

    def delete_tasks(self, account_id: int, tasks: Iterable[Task]) -> None:
        """Forget deleted tasks."""
        pipe = self.redis.pipeline(transaction=False)
        for task in tasks:
            pipe.hdel(account_key(account_id, "tasks"), task.id)
            pipe.srem(account_key(account_id, "tasks_of", task.lead_id), task.id)
        pipe.execute()

    def get_tasks(self, account_id: int, task_ids: Iterable[int]) -> dict[int, Task]:
        """The mirrored tasks among `task_ids`."""
        return _decode_hash(self.redis, account_key(account_id, "tasks"), list(task_ids), Task)

    def tasks_of(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, list[Task]]:
        """Each lead's tasks."""
        lead_ids = list(lead_ids)
        pipe = self.redis.pipeline(transaction=False)
        for lead_id in lead_ids:
            pipe.smembers(account_key(account_id, "tasks_of", lead_id))
        id_sets = pipe.execute()
        tasks = self.get_tasks(account_id, {int(i) for ids in id_sets for i in ids})
        return {lead: [tasks[int(i)] for i in sorted(ids, key=int) if int(i) in tasks]
                for lead, ids in zip(lead_ids, id_sets)}

    def add_timeline(self, account_id: int, kind: str, items: Iterable) -> None:
        """Add time-stamped facts (StageChange, Call, CloseDateChange, ...) to their lead's timeline (sets)."""
        timelines.add(self.redis, account_key(account_id, "timeline", kind), items)

    def timelines(self, account_id: int, kind: str, lead_ids: Iterable[int]) -> dict[int, list]:
        """Each lead's facts of one kind, oldest first."""
        return timelines.read(self.redis, account_key(account_id, "timeline", kind), TIMELINES[kind],
                                    list(lead_ids))

    def touch_activity(self, account_id: int, times: Mapping[int, int]) -> None:
        """Remember the latest note time per lead (older times never overwrite newer)."""
        pipe = self.redis.pipeline(transaction=False)
        for lead_id, at in times.items():
            pipe.eval(_MAX_HSET, 1, account_key(account_id, "last_note_at"), lead_id, at)
        pipe.execute()

    def last_note_at(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, int]:
        """The latest note time of each lead that has one."""
        ids = list(lead_ids)
        raw = self.redis.hmget(account_key(account_id, "last_note_at"), ids) if ids else []
        return {i: int(r) for i, r in zip(ids, raw) if r}

    def save_records(self, account_id: int, kind: str, records: Mapping) -> None:
        """Write flat records by id (contacts, incoming leads, users, loss reasons)."""
        if records:
            self.redis.hset(account_key(account_id, kind), mapping={k: _encode(v) for k, v in records.items()})

    def all_records(self, account_id: int, kind: str) -> dict:
        """Every record of a kind, decoded."""
        cls = RECORDS[kind]
        raw = self.redis.hgetall(account_key(account_id, kind))
        docs = _decode_many(raw.values())
        return {_key(k): d for k, d in zip(raw, map(record_builder(cls), docs) if cls else docs)}

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

    # --- precomputed insights
    def save_cards(self, account_id: int, cards: Mapping[int, dict]) -> None:
        """Store many cards at once."""
        for batch in _batches(list(cards.items()), 1000):
            self.redis.hset(account_key(account_id, "cards"),
                            mapping={k: json.dumps(v, ensure_ascii=False) for k, v in batch})

    def mark_cards_touched(self, account_id: int, lead_ids: Iterable[int]) -> None:
        """Note that these cards are being recomputed from the current mirror (before computing them): a full
        recompute whose snapshot is older leaves them alone."""
        ids = list(lead_ids)
        if ids:
            self.redis.eval(_MARK_TOUCHED, 2, account_key(account_id, "cards_seq"),
                            account_key(account_id, "cards_touched"), *ids)

    def cards_seq(self, account_id: int) -> int:
        """The latest card mark (read before a full recompute's snapshot)."""
        return int(self.redis.get(account_key(account_id, "cards_seq")) or 0)

    def cards_touched_since(self, account_id: int, seq: int) -> set[int]:
        """Leads whose cards were marked after `seq`; marks up to `seq` are dropped (no later snapshot needs them)."""
        key = account_key(account_id, "cards_touched")
        pipe = self.redis.pipeline()
        pipe.zrangebyscore(key, f"({seq}", "+inf")
        pipe.zremrangebyscore(key, "-inf", seq)
        touched, _ = pipe.execute()
        return {int(x) for x in touched}

    def save_insight(self, account_id: int, name: str, document: dict) -> None:
        """Store one precomputed document (team, forecast, backtest, settings...)."""
        self.redis.set(account_key(account_id, "insight", name), json.dumps(document, ensure_ascii=False))

    def read_insight(self, account_id: int, name: str) -> Optional[dict]:
        """One precomputed document, or None."""
        raw = self.redis.get(account_key(account_id, "insight", name))
        return json.loads(raw) if raw else None

    def save_models(self, account_id: int, encoded: str) -> None:
        """The account-level models single cards are recomputed with."""
        self.redis.set(account_key(account_id, "models"), encoded)

    def read_models(self, account_id: int) -> Optional[str]:
        """The encoded models, or None before the first full recompute."""
        raw = self.redis.get(account_key(account_id, "models"))
        return raw.decode() if raw else None

    def save_managers(self, account_id: int, summaries: Mapping[int, dict]) -> None:
        """Per-manager summaries, replaced as a whole."""
        pipe = self.redis.pipeline()
        pipe.delete(account_key(account_id, "managers"))
        if summaries:
            pipe.hset(account_key(account_id, "managers"),
                      mapping={k: json.dumps(v, ensure_ascii=False) for k, v in summaries.items()})
        pipe.execute()

    def read_manager(self, account_id: int, user_id: int) -> Optional[dict]:
        """One manager's summary, or None."""
        raw = self.redis.hget(account_key(account_id, "managers"), user_id)
        return json.loads(raw) if raw else None

    def save_plan(self, account_id: int, plan: dict) -> None:
        """Store a month's plan for a manager (user_id None: the whole account)."""
        field = f"{plan['month']}:{plan.get('user_id') or 'account'}"
        self.redis.hset(account_key(account_id, "plans"), field, json.dumps(plan))

    def read_plans(self, account_id: int) -> list[dict]:
        """Every plan of the account."""
        return [json.loads(v) for v in self.redis.hvals(account_key(account_id, "plans"))]

    # workers
    def ping(self) -> bool:
        """True when Redis answers."""
        return bool(self.redis.ping())

    # --- tokens, sync and mirror (issue 4)
    def save_tokens(self, account_id: int, sealed: bytes) -> None:
        """Store the account's encrypted token pair (only ever ciphertext)."""
        self.redis.set(account_key(account_id, "tokens"), sealed)

    def get_tokens(self, account_id: int) -> Optional[bytes]:
        """The account's encrypted token pair, or None."""
        return self.redis.get(account_key(account_id, "tokens"))

    def set_account_state(self, account_id: int, state: str, reason: str = "", at: int = 0) -> None:
        """Record whether we may call the account: active | blocked | needs_reinstall."""
        self.redis.hset(account_key(account_id, "state"), mapping={"state": state, "reason": reason, "at": at})

    def get_account_state(self, account_id: int) -> dict:
        """{'state', 'reason', 'at'}; an account never marked is active."""
        raw = {k.decode(): v.decode() for k, v in self.redis.hgetall(account_key(account_id, "state")).items()}
        return {"state": raw.get("state", "active"), "reason": raw.get("reason", ""), "at": int(raw.get("at", 0))}

    def claim_install_state(self, nonce: str, ttl: int) -> bool:
        """True the first time a signed install `state` comes back (its nonce is kept only until it expires, and
        only for states whose signature checked: page views store nothing)."""
        return bool(self.redis.set(f"{INSTALL_STATE}:{nonce}", 1, ex=max(1, int(ttl)), nx=True))

    def set_install_id(self, account_id: int, install_id: str) -> None:
        """Name the account's current install (a disable hook is checked against it)."""
        self.redis.set(account_key(account_id, "install_id"), install_id)

    def install_id(self, account_id: int) -> str:
        """The account's current install ('' before the first one)."""
        return (self.redis.get(account_key(account_id, "install_id")) or b"").decode()

    def claim_disable(self, account_id: int, ttl: int) -> bool:
        """True when no disable check of the account is pending (repeated hooks queue one check)."""
        return bool(self.redis.set(account_key(account_id, "disable_pending"), 1, ex=ttl, nx=True))

    def release_disable(self, account_id: int, hold: int = 0) -> None:
        """A disable check is over and deleted nothing; with `hold`, repeats queue no check for that long."""
        key = account_key(account_id, "disable_pending")
        self.redis.set(key, 1, ex=hold) if hold else self.redis.delete(key)

    def account_for_origin(self, origin: str) -> Optional[int]:
        """The installed account whose pages live on `origin`, if any."""
        owner = self.redis.hget(ORIGINS, origin)
        return int(owner) if owner is not None else None

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

    def save_pipelines(self, account_id: int, pipelines: Iterable[Pipeline]) -> None:
        """Replace the account's pipelines (with their stages)."""
        rows = [asdict(p) for p in pipelines]
        self.redis.set(account_key(account_id, "pipelines"), json.dumps(rows, ensure_ascii=False))

    def get_pipelines(self, account_id: int) -> list[Pipeline]:
        """The account's pipelines, stages in funnel order."""
        raw = self.redis.get(account_key(account_id, "pipelines"))
        return [Pipeline(p["id"], p["name"], tuple(Stage(**s) for s in p["stages"]))
                for p in json.loads(raw or "[]")]

    def save_users(self, account_id: int, users: Iterable[User]) -> None:
        """Write the account's users (a page at a time)."""
        mapping = {u.id: _encode(u) for u in users}
        if mapping:
            self.redis.hset(account_key(account_id, "users"), mapping=mapping)

    def get_records(self, account_id: int, kind: str, ids: Iterable) -> dict:
        """The records of a kind among `ids` (raw JSON documents)."""
        ids = list(ids)
        raw = self.redis.hmget(account_key(account_id, kind), ids) if ids else []
        return {i: json.loads(r) for i, r in zip(ids, raw) if r}

    def get_users(self, account_id: int) -> dict[int, User]:
        """The account's users by id."""
        raw = self.redis.hgetall(account_key(account_id, "users"))
        return {int(k): User(**json.loads(v)) for k, v in raw.items()}

    def save_lead_changes(self, account_id: int, leads: Iterable[Lead]) -> int:
        """Write synced leads unless the mirror already holds a newer version; return how many were written."""
        leads = list(leads)
        held = self.get_leads(account_id, [lead.id for lead in leads])
        fresh = [lead for lead in leads if lead.id not in held or held[lead.id].updated_at <= lead.updated_at]
        self.save_leads(account_id, fresh)
        return len(fresh)

    def all_leads(self, account_id: int) -> Iterator[Lead]:
        """Every mirrored lead, streamed."""
        return _scan_records(self.redis, account_key(account_id, "leads"), Lead)

    def all_tasks(self, account_id: int) -> Iterator[Task]:
        """Every mirrored task, streamed."""
        return _scan_records(self.redis, account_key(account_id, "tasks"), Task)

    def save_sync(self, account_id: int, name: str, document: dict) -> None:
        """Write one sync document: progress, checkpoint or watermarks."""
        self.redis.set(account_key(account_id, "sync", name), json.dumps(document))

    def get_sync(self, account_id: int, name: str) -> dict:
        """One sync document ({} when absent)."""
        return json.loads(self.redis.get(account_key(account_id, "sync", name)) or "{}")

    def delete_sync(self, account_id: int, name: str) -> None:
        """Forget one sync document (a finished run's checkpoint)."""
        self.redis.delete(account_key(account_id, "sync", name))

    def delete_account(self, account_id: int) -> int:
        """Remove every key of the account and its global index entries; return the keys deleted."""
        account = self.get_account(account_id)
        # The record first: the intake's append checks it atomically, so no delivery lands after this line.
        deleted, node = self.redis.unlink(account_key(account_id, "account")), self.node_client(account_id)
        for batch in _batches(node.scan_iter(match=account_key(account_id, "*"), count=1000), 500):
            deleted += node.unlink(*batch)  # on a cluster, only the account's node holds its keys
        pipe = self.redis.pipeline(transaction=not self.cluster)
        pipe.srem(ACCOUNTS, account_id)
        if account is not None:
            pipe.hdel(SUBDOMAINS, account.subdomain)
            pipe.hdel(ORIGINS, account.origin)
        pipe.execute()
        return deleted

    def node_client(self, account_id: int) -> redis.Redis:
        """A plain client of the server holding the account's keys (on one Redis, the client itself)."""
        return cluster.node_client(self.redis, account_key(account_id)) if self.cluster else self.redis

    # --- widget API (issue 7): its keys and encodings live in service/store/widget.py (this file passed 450 lines)
    @cached_property
    def widget(self):
        """The widget API's reads and writes (feedback, hint usefulness, rate limit, one-click locks)."""
        from service.store.widget import WidgetStore

        return WidgetStore(self.redis)


def _account(raw: Optional[bytes]) -> Optional[Account]:
    """Decode a stored account record."""
    return Account(**json.loads(raw)) if raw else None


def _encode(record) -> str:
    """Dataclasses as sorted JSON, so the same record always has the same bytes."""
    return json.dumps(asdict(record) if is_dataclass(record) else record, sort_keys=True, ensure_ascii=False)


def _decode_many(rows: Iterable[bytes]) -> list:
    """Decode many JSON documents in one parser call (per-call overhead dominates for small records; orjson reads
    the mirror's Cyrillic text several times faster than json, a fifth of a large account's load)."""
    return orjson.loads(b"[" + b",".join(rows) + b"]")


def _scan_records(client: redis.Redis, key: str, cls) -> Iterator:
    """Every record of a hash once, decoded a page at a time (HSCAN may repeat a field if the hash grows)."""
    cursor, seen = 0, set()
    while True:
        cursor, page = client.hscan(key, cursor, count=5000)
        fresh = [value for field, value in page.items() if field not in seen]
        seen.update(page)
        yield from map(record_builder(cls), _decode_many(fresh))
        if cursor == 0:
            return


def _decode_hash(client: redis.Redis, key: str, ids: list, cls) -> dict:
    """Decode the fields `ids` of a hash of JSON records."""
    if not ids:
        return {}
    return {i: cls(**json.loads(r)) for i, r in zip(ids, client.hmget(key, ids)) if r}


def _key(raw: bytes):
    """Hash fields are ids: numbers where they look like numbers."""
    text = raw.decode()
    return int(text) if text.isdigit() else text


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
_MARK_TOUCHED = """
local seq = redis.call('INCR', KEYS[1])
for _, id in ipairs(ARGV) do redis.call('ZADD', KEYS[2], seq, id) end
return seq
"""
TIMELINES = {"history": StageChange, "calls": Call, "close_dates": CloseDateChange}
RECORDS = {"contacts": None, "incoming": IncomingLead, "loss_reasons": None, "date_fields": DateField}
_MAX_HSET = """
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > old then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
"""


# --- issue 4: install state, request rate, helpers
INSTALL_STATE = "dp:install_state"  # global: OAuth `state` nonces (no account is known yet)
ANON_RATE = "dp:rl:anon"  # global: fixed-window counters of anonymous install requests per client address
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
GLOBAL_RATE = "dp:rl:next"  # global: the earliest time (ms) the next request of any account may go
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


def _batches(items: Iterable, size: int) -> Iterator[list]:
    """Lists of up to `size` items."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
