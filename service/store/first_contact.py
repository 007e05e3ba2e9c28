"""Redis keys of first contact: each lead's earliest touches, the request each lead came from, and the re-checks due.

Keys (all through keys.py): `touches:<bucket>` (hashes lead -> {"kind:user": earliest unix seconds}),
`lead_requests:<bucket>` (hashes lead -> {"at", "source"}, the earliest request), `fc_due` (sorted set lead -> when
its card must be looked at again). Bucket hashes (lead % 256, keys.BUCKETS) stay listpacks: a third of the bytes of
one big hash per family (issue 22).
"""
from __future__ import annotations

import json
from typing import Iterable, Mapping

import redis

from service.store.codec import (Read, bucket_values, by_bucket, eval_in_buckets, queue_bucket_reads,
                                 read_buckets, read_together, scan_buckets)
from service.store.compact import decode_document
from service.store.keys import account_key

# Keep the earliest time per field: replays, retries and out-of-order deliveries change nothing.
# KEYS: bucket hashes; ARGV: key index, lead, document, ...
_MERGE_MIN = """
for i = 1, #ARGV, 3 do
  local key, lead, fresh = KEYS[tonumber(ARGV[i])], ARGV[i + 1], cjson.decode(ARGV[i + 2])
  local raw = redis.call('HGET', key, lead)
  local held = raw and cjson.decode(raw) or {}
  local changed = false
  for k, v in pairs(fresh) do
    if held[k] == nil or tonumber(v) < tonumber(held[k]) then held[k] = v; changed = true end
  end
  if changed then redis.call('HSET', key, lead, cjson.encode(held)) end
end
return 1
"""
_REQUEST_MIN = """
for i = 1, #ARGV, 3 do
  local key = KEYS[tonumber(ARGV[i])]
  local raw = redis.call('HGET', key, ARGV[i + 1])
  local fresh = cjson.decode(ARGV[i + 2])
  if not raw or tonumber(fresh['at']) < tonumber(cjson.decode(raw)['at']) then
    redis.call('HSET', key, ARGV[i + 1], ARGV[i + 2])
  end
end
return 1
"""
_TAKE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""


def _docs(held: dict) -> dict:
    """{lead: stored JSON} decoded."""
    return {lead: json.loads(raw) for lead, raw in held.items()}


class FirstContactStore:
    """Typed reads and writes of first-contact facts over one Redis connection."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def add_touches(self, account_id: int, touches: Mapping[int, Mapping[str, int]]) -> None:
        """Merge touches ({lead: {"kind:user": at}}), keeping the earliest time of each."""
        self._merge(_MERGE_MIN, account_id, "touches", {lead: json.dumps(f) for lead, f in touches.items() if f})

    def touches(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, dict]:
        """The stored touches of each lead that has any."""
        return _docs(read_buckets(self.redis, account_id, "touches", lead_ids))

    def all_touches(self, account_id: int) -> dict[int, dict]:
        return self._all(account_id, "touches")

    def card_facts(self, account_id: int, lead_ids: Iterable[int]) -> tuple[dict, dict, dict, dict]:
        """(touches, requests, settings document, stake model) for some cards, in one round trip."""
        return read_together(self.redis, [self.card_facts_read(account_id, lead_ids)])[0]

    @staticmethod
    def card_facts_read(account_id: int, lead_ids: Iterable[int]) -> Read:
        """card_facts, to read together with other reads of the account (Store.read)."""
        ids = list(lead_ids)
        touches, requests = by_bucket(account_id, "touches", ids), by_bucket(account_id, "lead_requests", ids)

        def queue(pipe) -> None:
            queue_bucket_reads(pipe, touches)
            queue_bucket_reads(pipe, requests)
            for name in ("settings", "first_contact_model"):
                pipe.get(account_key(account_id, "insight", name))  # documents the Store writes (save_insight)

        def decode(answers: list) -> tuple[dict, dict, dict, dict]:
            *held, settings, model = answers
            return (_docs(bucket_values(touches, held[:len(touches)])),
                    _docs(bucket_values(requests, held[len(touches):])),
                    decode_document(settings) or {}, decode_document(model) or {})

        return Read(queue, decode)

    def add_requests(self, account_id: int, requests: Mapping[int, dict]) -> None:
        """Remember which request each lead came from ({lead: {"at", "source"}}), keeping the earliest."""
        self._merge(_REQUEST_MIN, account_id, "lead_requests",
                    {lead: json.dumps(doc, ensure_ascii=False) for lead, doc in requests.items()})

    def requests(self, account_id: int, lead_ids: Iterable[int]) -> dict[int, dict]:
        return _docs(read_buckets(self.redis, account_id, "lead_requests", lead_ids))

    def all_requests(self, account_id: int) -> dict[int, dict]:
        return self._all(account_id, "lead_requests")

    def _merge(self, script: str, account_id: int, family: str, docs: Mapping[int, str]) -> None:
        """Run a merge script over {lead: JSON} in the family's buckets."""
        eval_in_buckets(self.redis, script, account_id, family, list(docs.items()))

    def _all(self, account_id: int, family: str) -> dict[int, dict]:
        return {lead: json.loads(raw) for ids, values in scan_buckets(self.redis, account_id, family)
                for lead, raw in zip(ids, values)}

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
