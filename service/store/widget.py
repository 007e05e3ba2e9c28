"""The widget API's Redis keys (issue 7), reached as `Store.widget`. Every key starts with `acct:<id>:`.

Keys (all under `acct:<id>:`):
  api:rl:<user>:<second>   request counter of one user in one second (rate limit), expires after 2 s
  fb:<user>                hash "<lead>:<code>" -> feedback JSON {action, situation, problem, until, reason, at}
  hintseen:<lead>          hash problem key -> {"code", "at" (first shown), "outcome": pending|resolved|unresolved}
  hintpending              zset "<lead>|<code>|<problem>" scored by the moment its 48 h window ends
  hintstats                hash "<code>:<metric>" -> count (shown, dismissed, snoozed, resolved_48h, unresolved_48h,
                           reason:<reason>)
  feedback_log             list of feedback JSON records, newest first, capped at FEEDBACK_LOG_SIZE
  api:open_index           cached JSON {lead_id: [responsible_user_id, group_id]} of open leads (OPEN_INDEX_TTL)
  api:task_lock:<lead>     a one-click task being created for the lead (double clicks), expires after 20 s
  api:settle_scheduled     the 48 h outcome job was queued in the last hour
Plus keys owned by Store: account, jti:<jti>, users, leads:<bucket>, cards:<bucket>, managers, plans, insight:<name>.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Iterable, Optional

import redis

from service.model import Lead, User
from service.store.codec import bucket_values, by_bucket, decode_account, queue_bucket_reads
from service.store.compact import decode_card, decode_document, unpack
from service.store.keys import account_key, bucket_key

FEEDBACK_TTL = 180 * 86400  # a user's feedback hash lives this long after their last feedback
SEEN_TTL = 120 * 86400  # a lead's first-shown records live this long after the last new one
FEEDBACK_LOG_SIZE = 20000
OPEN_INDEX_TTL = 120


def _json(raw) -> Optional[dict]:
    return json.loads(raw) if raw else None


def _lead(lead_id: int, raw) -> Optional[Lead]:
    return unpack(Lead, int(lead_id), json.loads(raw)) if raw else None


def _user(raw) -> Optional[User]:
    return User(**json.loads(raw)) if raw else None


def _json_hash(raw: dict) -> dict:
    return {k.decode(): json.loads(v) for k, v in raw.items()}


def _json_fields(fields: list):
    """Decoder of an HMGET over `fields`: {field: document} for the fields present."""
    return lambda raw: {f: json.loads(v) for f, v in zip(fields, raw) if v}


class WidgetStore:
    """Typed reads and writes of the widget API over the account mirror and its own keys."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    # --- one round trip: authorize a widget request and read what the endpoint needs
    def authorized_reads(self, account_id: int, jti: str, ttl: int, user_id: int, second: int,
                         reads: Iterable[tuple]) -> tuple:
        """(account, fresh jti, requests this second, the user, users mirrored?, settings, [read results])."""
        a = account_id
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(account_key(a, "account"))
        pipe.set(account_key(a, "jti", jti), 1, nx=True, ex=max(ttl, 1))
        rate_key = account_key(a, "api", "rl", user_id, second)
        pipe.incr(rate_key)
        pipe.expire(rate_key, 2)
        pipe.hget(account_key(a, "users"), user_id)
        pipe.exists(account_key(a, "users"))
        pipe.get(account_key(a, "insight", "settings"))
        decoders = [self._queue_read(pipe, a, *read) for read in reads]
        account, fresh, count, _, user, has_users, settings, *rest = pipe.execute()
        return (decode_account(account), bool(fresh), int(count), _user(user), bool(has_users),
                decode_document(settings) or {},
                [decode(raw) for decode, raw in zip(decoders, rest)])

    def _queue_read(self, pipe, a: int, name: str, *args):
        """Queue one named read on the pipeline and return its decoder."""
        if name == "card":
            pipe.hget(bucket_key(a, "cards", args[0]), args[0])
            return decode_card
        if name == "lead":
            pipe.hget(bucket_key(a, "leads", args[0]), args[0])
            return lambda raw: _lead(args[0], raw)
        if name == "user":
            pipe.hget(account_key(a, "users"), args[0])
            return _user
        if name == "feedback":  # args: user_id, lead_id, codes
            fields = [f"{args[1]}:{code}" for code in args[2]]
            pipe.hmget(account_key(a, "fb", args[0]), fields)
            return _json_fields(fields)
        if name == "seen":
            pipe.hgetall(account_key(a, "hintseen", args[0]))
            return _json_hash
        if name == "manager":
            pipe.hget(account_key(a, "managers"), args[0])
            return _json
        if name == "insight":
            pipe.get(account_key(a, "insight", args[0]))
            return decode_document
        if name == "open_index":
            pipe.get(account_key(a, "api", "open_index"))
            return _json
        raise ValueError(f"unknown read {name!r}")

    # --- feedback
    def user_feedback(self, account_id: int, user_id: int) -> dict[str, dict]:
        """Every feedback of one user: "<lead>:<code>" -> record."""
        return _json_hash(self.redis.hgetall(account_key(account_id, "fb", user_id)))

    def save_feedback(self, account_id: int, user_id: int, lead_id: int, record: dict, counters: dict,
                      expired: Iterable[str] = ()) -> None:
        """Store one user's feedback on a hint, log it, count it, and drop the user's expired entries."""
        key = account_key(account_id, "fb", user_id)
        pipe = self.redis.pipeline()
        pipe.hset(key, f"{lead_id}:{record['code']}", json.dumps(record))
        for field in expired:
            pipe.hdel(key, field)
        pipe.expire(key, FEEDBACK_TTL)
        pipe.lpush(account_key(account_id, "feedback_log"), json.dumps({"user_id": user_id, "lead_id": lead_id,
                                                                        **record}))
        pipe.ltrim(account_key(account_id, "feedback_log"), 0, FEEDBACK_LOG_SIZE - 1)
        self._count(pipe, account_id, counters)
        pipe.execute()

    def clear_feedback(self, account_id: int, user_id: int, lead_id: int, code: str) -> bool:
        """Forget one user's feedback on a hint; True when there was one."""
        return bool(self.redis.hdel(account_key(account_id, "fb", user_id), f"{lead_id}:{code}"))

    def feedback_log(self, account_id: int, limit: int = 100) -> list[dict]:
        """The latest feedback records, newest first."""
        return [json.loads(x) for x in self.redis.lrange(account_key(account_id, "feedback_log"), 0, limit - 1)]

    # --- hint usefulness: first shown, resolved within 48 h, counters per rule
    def record_hint_views(self, account_id: int, lead_id: int, shown: dict, resolved: dict, due_in: int,
                          now: int) -> bool:
        """Write first-shown records and early resolutions of one lead; True when the outcome job must be queued.

        `shown`: problem -> code (first shown now); `resolved`: problem -> (code, outcome)."""
        seen_key, pending = account_key(account_id, "hintseen", lead_id), account_key(account_id, "hintpending")
        records = {problem: json.dumps({"code": code, "at": now, "outcome": "pending"})
                   for problem, code in shown.items()}
        records.update({problem: json.dumps({"code": code, "at": at, "outcome": outcome})
                        for problem, (code, at, outcome) in resolved.items()})
        counters = Counter(f"{code}:shown" for code in shown.values())
        counters.update(f"{code}:{outcome}_48h" for code, _, outcome in resolved.values())
        pipe = self.redis.pipeline(transaction=False)  # one command per kind of write: a card read waits for it
        if records:
            pipe.hset(seen_key, mapping=records)
        if shown:
            pipe.zadd(pending, {f"{lead_id}|{code}|{problem}": now + due_in for problem, code in shown.items()})
        if resolved:
            pipe.zrem(pending, *(f"{lead_id}|{code}|{problem}" for problem, (code, _, _) in resolved.items()))
        flag = None
        if shown:
            pipe.expire(seen_key, SEEN_TTL)
            flag = len(pipe)
            pipe.set(account_key(account_id, "api", "settle_scheduled"), 1, nx=True, ex=3600)
        self._count(pipe, account_id, counters)
        results = pipe.execute()
        return flag is not None and bool(results[flag])

    def due_hint_outcomes(self, account_id: int, now: int, limit: int = 5000) -> list[tuple[int, str, str]]:
        """(lead_id, code, problem) whose 48 h window has ended and that are still pending."""
        rows = self.redis.zrangebyscore(account_key(account_id, "hintpending"), "-inf", now, start=0, num=limit)
        out = []
        for row in rows:
            lead, code, problem = row.decode().split("|", 2)
            out.append((int(lead), code, problem))
        return out

    def seen_records(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, dict]:
        """Each lead's first-shown records."""
        lead_ids = list(lead_ids)
        pipe = self.redis.pipeline(transaction=False)
        for lead_id in lead_ids:
            pipe.hgetall(account_key(account_id, "hintseen", lead_id))
        return {lead: _json_hash(raw) for lead, raw in zip(lead_ids, pipe.execute())}

    def settle_hint_outcomes(self, account_id: int, outcomes: Iterable[tuple]) -> None:
        """Close 48 h windows: each (lead_id, code, problem, first_shown_at, outcome) leaves the pending set."""
        pipe = self.redis.pipeline(transaction=False)
        counters: dict = {}
        for lead_id, code, problem, at, outcome in outcomes:
            pipe.zrem(account_key(account_id, "hintpending"), f"{lead_id}|{code}|{problem}")
            if outcome:
                pipe.hset(account_key(account_id, "hintseen", lead_id), problem,
                          json.dumps({"code": code, "at": at, "outcome": outcome}))
                counters[f"{code}:{outcome}_48h"] = counters.get(f"{code}:{outcome}_48h", 0) + 1
        self._count(pipe, account_id, counters)
        pipe.execute()

    def hint_stats(self, account_id: int) -> dict[str, int]:
        """Counters per rule: "<code>:<metric>" -> count."""
        return {k.decode(): int(v) for k, v in self.redis.hgetall(account_key(account_id, "hintstats")).items()}

    def pending_hint_counts(self, account_id: int) -> dict[str, int]:
        """Shown hints whose 48 h window is still open, per rule."""
        counts: dict[str, int] = {}
        for row in self.redis.zrange(account_key(account_id, "hintpending"), 0, -1):
            code = row.decode().split("|", 2)[1]
            counts[code] = counts.get(code, 0) + 1
        return counts

    @staticmethod
    def _count(pipe, account_id: int, counters: dict) -> None:
        for field, n in counters.items():
            pipe.hincrby(account_key(account_id, "hintstats"), field, n)

    # --- the "needs attention" list
    def save_open_index(self, account_id: int, index: dict) -> None:
        """Cache the open leads' owners for OPEN_INDEX_TTL seconds."""
        self.redis.set(account_key(account_id, "api", "open_index"), json.dumps(index), ex=OPEN_INDEX_TTL)

    def cards_and_leads(self, account_id: int, lead_ids: list[int]) -> tuple[list, list]:
        """The card documents and leads of `lead_ids` (None where absent), in one round trip."""
        if not lead_ids:
            return [], []
        cards, leads = by_bucket(account_id, "cards", lead_ids), by_bucket(account_id, "leads", lead_ids)
        pipe = self.redis.pipeline(transaction=False)
        queue_bucket_reads(pipe, cards)
        queue_bucket_reads(pipe, leads)
        answers = pipe.execute()
        cards, leads = bucket_values(cards, answers[:len(cards)]), bucket_values(leads, answers[len(cards):])
        return [decode_card(cards.get(i)) for i in lead_ids], [_lead(i, leads.get(i)) for i in lead_ids]

    # --- one-click tasks
    def claim_task_creation(self, account_id: int, lead_id: int, seconds: int = 20) -> bool:
        """True for the one request that may create a task on the lead now (double clicks lose)."""
        return bool(self.redis.set(account_key(account_id, "api", "task_lock", lead_id), 1, nx=True, ex=seconds))

    def release_task_creation(self, account_id: int, lead_id: int) -> None:
        """Let the next click create a task (the previous one failed)."""
        self.redis.delete(account_key(account_id, "api", "task_lock", lead_id))

    # --- plans and managers
    def delete_plan(self, account_id: int, month: str, user_id: Optional[int]) -> bool:
        """Remove a month's plan (user_id None: the account's); True when there was one."""
        return bool(self.redis.hdel(account_key(account_id, "plans"), f"{month}:{user_id or 'account'}"))

    def all_managers(self, account_id: int) -> dict[int, dict]:
        """Every manager summary by user id."""
        return {int(k): json.loads(v) for k, v in self.redis.hgetall(account_key(account_id, "managers")).items()}
