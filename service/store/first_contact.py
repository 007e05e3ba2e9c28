"""Redis keys of first contact: each lead's earliest touches, the request each lead came from, and the re-checks due.

Keys (all through `account_key`): `touches` (hash lead -> {"kind:user": earliest unix seconds}), `lead_requests`
(hash lead -> {"at", "source"}, the earliest request), `fc_due` (sorted set lead -> when its card must be looked at
again).
"""
from __future__ import annotations

import json
from typing import Iterable, Mapping

import redis

from service.store.compact import decode_document
from service.store.keys import account_key

# Keep the earliest time per field: replays, retries and out-of-order deliveries change nothing.
_MERGE_MIN = """
for i = 1, #ARGV, 2 do
  local lead, fresh = ARGV[i], cjson.decode(ARGV[i + 1])
  local raw = redis.call('HGET', KEYS[1], lead)
  local held = raw and cjson.decode(raw) or {}
  local changed = false
  for k, v in pairs(fresh) do
    if held[k] == nil or tonumber(v) < tonumber(held[k]) then held[k] = v; changed = true end
  end
  if changed then redis.call('HSET', KEYS[1], lead, cjson.encode(held)) end
end
return 1
"""
_REQUEST_MIN = """
for i = 1, #ARGV, 2 do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  local fresh = cjson.decode(ARGV[i + 1])
  if not raw or tonumber(fresh['at']) < tonumber(cjson.decode(raw)['at']) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 1
"""
_TAKE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""


class FirstContactStore:
    """Typed reads and writes of first-contact facts over one Redis connection."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def add_touches(self, account_id: int, touches: Mapping[int, Mapping[str, int]]) -> None:
        """Merge touches ({lead: {"kind:user": at}}), keeping the earliest time of each."""
        args = [x for lead, fields in touches.items() if fields for x in (lead, json.dumps(fields))]
        if args:
            self.redis.eval(_MERGE_MIN, 1, account_key(account_id, "touches"), *args)

    def touches(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, dict]:
        """The stored touches of each lead that has any."""
        ids = list(lead_ids)
        raw = self.redis.hmget(account_key(account_id, "touches"), ids) if ids else []
        return {i: json.loads(r) for i, r in zip(ids, raw) if r}

    def all_touches(self, account_id: int) -> dict[int, dict]:
        return {int(k): json.loads(v) for k, v in self.redis.hgetall(account_key(account_id, "touches")).items()}

    def card_facts(self, account_id: int, lead_ids: Iterable[int]) -> tuple[dict, dict, dict, dict]:
        """(touches, requests, settings document, stake model) for some cards, in one round trip."""
        ids = list(lead_ids)
        pipe = self.redis.pipeline(transaction=False)  # one account's keys: one slot on a cluster
        for name in ("touches", "lead_requests"):
            pipe.hmget(account_key(account_id, name), ids or ["-"])
        for name in ("settings", "first_contact_model"):
            pipe.get(account_key(account_id, "insight", name))  # documents the Store writes (save_insight)
        touches, requests, settings, model = pipe.execute()
        return ({i: json.loads(r) for i, r in zip(ids, touches) if r},
                {i: json.loads(r) for i, r in zip(ids, requests) if r},
                decode_document(settings) or {}, decode_document(model) or {})

    def add_requests(self, account_id: int, requests: Mapping[int, dict]) -> None:
        """Remember which request each lead came from ({lead: {"at", "source"}}), keeping the earliest."""
        args = [x for lead, doc in requests.items() for x in (lead, json.dumps(doc, ensure_ascii=False))]
        if args:
            self.redis.eval(_REQUEST_MIN, 1, account_key(account_id, "lead_requests"), *args)

    def requests(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, dict]:
        ids = list(lead_ids)
        raw = self.redis.hmget(account_key(account_id, "lead_requests"), ids) if ids else []
        return {i: json.loads(r) for i, r in zip(ids, raw) if r}

    def all_requests(self, account_id: int) -> dict[int, dict]:
        raw = self.redis.hgetall(account_key(account_id, "lead_requests"))
        return {int(k): json.loads(v) for k, v in raw.items()}

    def schedule(self, account_id: int, due: Mapping[int, int]) -> None:
        """Set when each lead's card must be looked at again."""
        if due:
            self.redis.zadd(account_key(account_id, "fc_due"), {str(k): v for k, v in due.items()})

    def unschedule(self, account_id: int, lead_ids: Iterable[int]) -> None:
        ids = [str(i) for i in lead_ids]
        if ids:
            self.redis.zrem(account_key(account_id, "fc_due"), *ids)

    def take_due(self, account_id: int, now: float) -> list[int]:
        """Leads whose re-check time has come, removed from the schedule in the same step."""
        return [int(x) for x in self.redis.eval(_TAKE_DUE, 1, account_key(account_id, "fc_due"), now)]

    def scheduled(self, account_id: int) -> dict[int, float]:
        return {int(k): v for k, v in self.redis.zrange(account_key(account_id, "fc_due"), 0, -1, withscores=True)}
